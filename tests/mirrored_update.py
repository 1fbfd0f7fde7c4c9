"""Run in a fresh process: one SGD step of a model on 2 logical CPUs vs on one device.

Prints a JSON line {"max_abs_diff": ..., "max_abs_update": ..., ...} for tests/test_distributed.py.
Usage: python tests/mirrored_update.py METHOD [--jit] [--adam] [--marginal-samples K]
  --jit: XLA per-replica gradients; --adam: two steps of the default FusedAdam instead of SGD;
  --marginal-samples: K marginal partners per example (all-gathered across the replicas).
  ``replica_pairs_*``: the same multi-replica step with marginal_scope="replica".
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from tf_infomax.optimizers import FusedAdam  # noqa: E402

from conftest import tiny_images, tiny_model  # noqa: E402

MARGINAL_SAMPLES = (
    int(sys.argv[sys.argv.index("--marginal-samples") + 1])
    if ("--marginal-samples" in sys.argv)
    else 1
)


def one_step(strategy, method, images, initial, jit_compile="auto", adam=False, scope="global"):
    optimizer = (lambda: FusedAdam(0.01)) if adam else (lambda: keras.optimizers.SGD(0.1))
    with strategy.scope():
        model = tiny_model(method, track_mi=True)
        model.marginal_scope = scope
        model.marginal_samples = MARGINAL_SAMPLES
        model.set_weights(initial)
        model.compile(optimizer=optimizer(), critic_optimizer=optimizer(), jit_compile=jit_compile)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(8, drop_remainder=True)
    logs = model.fit(dataset, epochs=1, verbose=0).history
    return model, logs


def main(method: str, jit_compile: bool, adam: bool) -> None:
    images = tiny_images(16 if adam else 8)
    initial = tiny_model(method, track_mi=True).get_weights()
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    one_device = tf.distribute.OneDeviceStrategy("/cpu:0")
    single, single_logs = one_step(one_device, method, images, initial, adam=adam)
    multi, multi_logs = one_step(mirrored, method, images, initial, jit_compile, adam)
    # The same step with per-replica marginal pairs (InfoMax-VAE's MI term uses them).
    per_replica = (
        one_step(mirrored, method, images, initial, jit_compile, adam, "replica")[0]
        if method == "infomax-vae"
        else multi
    )

    def vae_weights(model):
        critic = {id(v) for v in model.critic.weights} if model.critic is not None else set()
        return [v.numpy() for v in model.weights if id(v) not in critic]

    def critic_weights(model):
        return [v.numpy() for v in model.critic.weights]

    def max_diff(a, b):
        return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))

    initial_model = tiny_model(method, track_mi=True)
    initial_model.set_weights(initial)
    print(
        json.dumps(
            {
                "replicas": mirrored.num_replicas_in_sync,
                "vae_max_abs_diff": max_diff(vae_weights(single), vae_weights(multi)),
                "vae_max_abs_update": max_diff(vae_weights(single), vae_weights(initial_model)),
                "critic_max_abs_update": max_diff(
                    critic_weights(multi), critic_weights(initial_model)
                ),
                "critic_max_abs_diff": max_diff(critic_weights(single), critic_weights(multi)),
                "replica_pairs_critic_max_abs_diff": max_diff(
                    critic_weights(single), critic_weights(per_replica)
                ),
                "replica_pairs_critic_max_abs_update": max_diff(
                    critic_weights(per_replica), critic_weights(initial_model)
                ),
                # The replicas' copies of each variable must stay equal.
                "replica_max_abs_diff": max(
                    float(np.max(np.abs(v.value.values[0] - v.value.values[1])))
                    for v in multi.weights
                ),
                "single_loss": single_logs["loss"][0],
                "multi_loss": multi_logs["loss"][0],
                "multi_logs": {k: v[0] for k, v in multi_logs.items()},
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], jit_compile="--jit" in sys.argv[2:], adam="--adam" in sys.argv[2:])
