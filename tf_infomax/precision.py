"""Mixed precision for a run's ``dtype_policy`` through ``keras.mixed_precision``.

Under ``mixed_float16``/``mixed_bfloat16`` the layers compute in 16 bits and keep float32
variables; ``InfoMaxVAE`` casts back to float32 where precision matters (the posterior's mean
and log-variance, hence the KL and exp(log-variance / 2), the likelihood's parameters and the
critic's scores, whose exp the MI bounds take): see ``InfoMaxVAE._posterior_params``,
``InfoMaxVAE.decode`` and ``InfoMaxVAE._critic_scores``. float16, whose range is small, also
needs loss scaling: each of the two optimizers is wrapped in its own ``LossScaleOptimizer``,
and ``train_step`` scales each loss by its own optimizer's scale.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build layers under the Keras dtype policy ``name``, restoring the previous one after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def loss_scaled(optimizer: keras.optimizers.Optimizer, policy: str) -> keras.optimizers.Optimizer:
    """``optimizer`` wrapped in a dynamic ``LossScaleOptimizer`` under ``mixed_float16``."""
    if policy == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
