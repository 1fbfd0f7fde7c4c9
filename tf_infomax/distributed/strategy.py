"""``make_strategy``: the ``tf.distribute`` strategy a run's ``strategy`` and ``devices`` name.

Strategies (``--strategy``):

* ``auto`` (default): ``multi-worker`` when ``TF_CONFIG`` names a cluster of more than one
  task, else ``mirrored`` when more than one GPU is visible (or ``--devices`` names several),
  else TensorFlow's default strategy (one device, no replication).
* ``one-device``: ``OneDeviceStrategy`` on the first device of ``--devices`` (default the first
  GPU, else the CPU).
* ``mirrored``: ``MirroredStrategy`` over ``--devices`` (default all visible GPUs, else the CPU).
* ``multi-worker``: ``MultiWorkerMirroredStrategy`` over the cluster of ``TF_CONFIG``.
* ``tpu``: ``TPUStrategy`` on the TPU named by ``--devices`` (default: the local one).

``--devices`` takes comma-separated device names (``gpu:0,gpu:1``). CPU names beyond ``cpu:0``
(``cpu:0,cpu:1``) split the host CPU into that many logical devices: a way to try ``mirrored``
without GPUs. To hide GPUs from a
process use the standard ``CUDA_VISIBLE_DEVICES``.

The batch size is global: each of the strategy's ``num_replicas_in_sync`` replicas gets
``batch_size / replicas`` examples per step.
"""

from __future__ import annotations

import json
import os
import re

import tensorflow as tf

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker", "tpu")
_CPU = re.compile(r"^/(?:device:)?cpu:(\d+)$")


def cluster_size(tf_config: str | None = None) -> int:
    """Number of tasks (chief, workers) in ``TF_CONFIG``'s cluster; 0 without one."""
    text = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not text.strip():
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
    except (json.JSONDecodeError, AttributeError):
        raise ValueError(
            f"TF_CONFIG is not a JSON object with a 'cluster' ({text[:80]!r}); fix or unset it."
        ) from None
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def parse_devices(devices: str | None) -> tuple[list[str], int]:
    """(device names, logical CPUs to create) of a ``--devices`` value.

    CPU indices beyond 0 (``cpu:0,cpu:1``) are logical devices split from the host CPU, which
    TensorFlow shows as one device: the second number is how many to create (0: none).
    """
    if not devices:
        return [], 0
    names = ["/" + name.strip().lstrip("/").lower() for name in devices.split(",") if name.strip()]
    cpus = [int(m.group(1)) for m in map(_CPU.match, names) if m]
    return names, (max(cpus) + 1 if cpus and max(cpus) > 0 else 0)


def resolve_strategy_name(name: str = "auto", devices: str | None = None) -> str:
    """The concrete strategy ``auto`` stands for here; ``"default"`` for TensorFlow's default."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown --strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if name != "auto":
        return name
    if cluster_size() > 1:
        return "multi-worker"
    names, _ = parse_devices(devices)
    if len(names) > 1 or (not names and len(tf.config.list_physical_devices("GPU")) > 1):
        return "mirrored"
    return "default"


def _split_cpu(count: int) -> None:
    """Make ``count`` logical CPU devices (before TensorFlow runs any op)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration()] * count
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise RuntimeError(
                f"--devices with {count} CPU devices must take effect before TensorFlow runs any "
                "op, but "
                "this process already ran one: create the strategy first (training.train does)."
            ) from None


def make_strategy(name: str = "auto", devices: str | None = None) -> tf.distribute.Strategy:
    """The strategy of ``--strategy name --devices devices``; call it before any other TF op.

    ``MultiWorkerMirroredStrategy`` and logical CPU devices configure the TensorFlow runtime,
    which is possible only before its first op: ``training.train`` calls this first.

    Raises:
        ValueError: an unknown name, or ``multi-worker`` / ``tpu`` where they cannot run.
        RuntimeError: TensorFlow already ran an op and the strategy needs to configure it.
    """
    resolved = resolve_strategy_name(name, devices)
    if resolved == "default" and not parse_devices(devices)[1]:
        return tf.distribute.get_strategy()  # the current one (a caller's scope, if any)
    key = (resolved, devices or "")
    if key not in _CREATED:
        _CREATED[key] = _create(resolved, devices)
    return _CREATED[key]


# One strategy per (kind, devices) per process: TensorFlow configures the collectives once
# (a second MultiWorkerMirroredStrategy cannot be made, and a second MirroredStrategy's
# collective keys collide with the first's), so a later ``train`` reuses the first.
_CREATED: dict[tuple[str, str], tf.distribute.Strategy] = {}


def _create(resolved: str, devices: str | None) -> tf.distribute.Strategy:
    names, logical_cpus = parse_devices(devices)
    if logical_cpus:
        _split_cpu(logical_cpus)
    if resolved == "default":
        return tf.distribute.get_strategy()
    if resolved == "one-device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(
            names[0] if names else gpus[0].name if gpus else "/cpu:0"
        )
    if resolved == "mirrored":
        return tf.distribute.MirroredStrategy(names or None)
    if resolved == "multi-worker":
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as error:
            raise RuntimeError(
                f"--strategy multi-worker must be created before TensorFlow runs any op ({error})."
            ) from None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=devices or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as error:
        raise ValueError(
            f"--strategy tpu: no TPU found ({type(error).__name__}: {error}); run on a TPU VM or "
            "name the TPU with --devices."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def describe(strategy: tf.distribute.Strategy, batch_size: int) -> dict:
    """What history.json records of a strategy: its class, replicas, workers, batch split."""
    replicas = strategy.num_replicas_in_sync
    resolver = getattr(strategy, "cluster_resolver", None)
    workers = max(cluster_size(), 1) if resolver is not None and resolver.task_type else 1
    return {
        "strategy": type(strategy).__name__,
        "replicas": replicas,
        "workers": workers,
        "global_batch_size": batch_size,
        "per_replica_batch_size": batch_size // replicas,
    }
