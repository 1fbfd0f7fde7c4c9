"""Training diagnostics of Algorithm 1's step, logged by ``fit`` when ``diagnostics=True``.

What each logged name measures (per epoch: the mean over steps, or the extreme for ``*_max`` /
``*_min``):

* ``grad_reconstruction``, ``grad_kl``, ``grad_mi``: norms of the gradients of the three terms
  of the encoder's loss, -log p(x|z), beta * KL and -alpha * critic_objective (eq. 3 and 6), with
  respect to the encoder's output (the posterior parameters, before the log-variance floor):
  how hard each term pulls on q(z|x).
* ``vae_grad_norm``, ``critic_grad_norm``: global norms of the two optimizers' gradients;
  ``vae_clip_rate``, ``critic_clip_rate``: the fraction of steps whose norm exceeded the
  optimizer's ``global_clipnorm`` (0 when it has none); with ``mi_clipnorm``, ``mi_grad_norm``
  (the norm of the MI term's own gradient) and ``mi_clip_rate``. One device: exact; under a
  strategy the norm is that of the replica's share times the number of replicas.
* ``joint_score_mean/max``, ``marginal_score_mean/max``: the critic's scores t(x, z) on joint
  and permuted pairs; ``log_mean_exp_marginal``: log E_marginal[exp(t - 1)] of eq. 6.
* ``log_var_min``, ``log_var_max``: the smallest and largest posterior log-variance the encoder
  output (before the floor); ``log_var_floored``: the fraction of log-variances raised by the
  floor; ``mean_abs_max``: the largest |posterior mean| (eq. 3's KL grows with its square).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_infomax.objectives.mi_estimators import log_mean_exp


@keras.saving.register_keras_serializable(package="tf_infomax")
class Extreme(keras.metrics.Metric):
    """The largest (or smallest) value seen since the last reset."""

    def __init__(self, name: str, mode: str = "max", **kwargs):
        super().__init__(name=name, **kwargs)
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}.")
        self.mode = mode
        start = -float("inf") if mode == "max" else float("inf")
        self._start = start
        self.value = self.add_variable(shape=(), initializer=keras.initializers.Constant(start))

    def update_state(self, values):
        values = tf.cast(values, self.value.dtype)
        if self.mode == "max":
            self.value.assign(tf.maximum(self.value, tf.reduce_max(values)))
        else:
            self.value.assign(tf.minimum(self.value, tf.reduce_min(values)))

    def result(self):
        return tf.identity(self.value)

    def reset_state(self):
        self.value.assign(self._start)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


EXTREMES = {
    "joint_score_max": "max",
    "marginal_score_max": "max",
    "log_var_min": "min",
    "log_var_max": "max",
    "mean_abs_max": "max",
}
MEANS = (
    "grad_reconstruction",
    "grad_kl",
    "grad_mi",
    "vae_grad_norm",
    "vae_clip_rate",
    "critic_grad_norm",
    "critic_clip_rate",
    "joint_score_mean",
    "marginal_score_mean",
    "log_mean_exp_marginal",
    "log_var_floored",
    "mi_grad_norm",
    "mi_clip_rate",
)


def trackers(has_critic: bool) -> dict[str, keras.metrics.Metric]:
    """The diagnostics' metrics (critic ones only with a critic)."""
    critic_names = {
        "mi_grad_norm",
        "mi_clip_rate",
        "grad_mi",
        "critic_grad_norm",
        "critic_clip_rate",
        "joint_score_mean",
        "marginal_score_mean",
        "log_mean_exp_marginal",
        "joint_score_max",
        "marginal_score_max",
    }
    out: dict[str, keras.metrics.Metric] = {}
    for name in MEANS:
        if has_critic or name not in critic_names:
            out[name] = keras.metrics.Mean(name=name)
    for name, mode in EXTREMES.items():
        if has_critic or name not in critic_names:
            out[name] = Extreme(name, mode)
    return out


def clip_rate(norm: tf.Tensor, limit: float | None) -> tf.Tensor:
    """1.0 if ``norm`` exceeds the clip ``limit``, else 0.0 (0.0 without a limit)."""
    if limit is None:
        return tf.zeros((), norm.dtype)
    return tf.cast(norm > limit, norm.dtype)


def score_values(scores) -> dict[str, tf.Tensor]:
    """Critic-score diagnostics from (joint, marginal) scores or a score matrix."""
    if isinstance(scores, tuple):
        joint, marginal = scores
    else:  # InfoNCE's matrix: the diagonal is joint, the rest marginal
        joint = tf.linalg.diag_part(scores)
        off = 1.0 - tf.eye(tf.shape(scores)[0], dtype=scores.dtype)
        marginal = tf.boolean_mask(scores, off > 0)
    return {
        "joint_score_mean": tf.reduce_mean(joint),
        "joint_score_max": tf.reduce_max(joint),
        "marginal_score_mean": tf.reduce_mean(marginal),
        "marginal_score_max": tf.reduce_max(marginal),
        "log_mean_exp_marginal": log_mean_exp(marginal - 1.0),
    }
