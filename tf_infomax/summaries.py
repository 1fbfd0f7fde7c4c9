"""Pictures and histograms of a training model in TensorBoard (``logs/summaries``).

Every ``every`` epochs :class:`ImageSummaries` writes, from one fixed batch of held-out images
and fixed noise (so epochs compare like with like):

* ``reconstructions``: the images (top row) above E[x | z = E_q[z|x]] (bottom row);
* ``prior_samples``: E[x|z] for 16 fixed z ~ p(z) (exact draws for an autoregressive decoder);
* ``latent_traversal``: the first image's code with each of the most active units (largest
  variance of the posterior means over the batch, as ``most_active_dims``) swept over -4..4,
  one row per unit (Figure 9);
* histograms ``posterior_log_variance`` (every log Var q(z_d|x) of the batch) and, when the
  model has a critic, ``critic_scores/joint`` and ``critic_scores/marginal``: t(x_i, z_i) and
  t(x_i, z_perm(i)) for z ~ q(z|x) and a derangement of the batch.

Costs one forward pass of the encoder, decoder and critic on the batch per summary epoch.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_infomax.networks.traversal import tile_images, traversal_codes
from tf_infomax.objectives.mi_estimators import marginal_permutation

IMAGE_TAGS = ("reconstructions", "prior_samples", "latent_traversal")
HISTOGRAM_TAGS = ("posterior_log_variance",)
CRITIC_TAGS = ("critic_scores/joint", "critic_scores/marginal")
NUM_PRIOR_SAMPLES = 16
TRAVERSAL_UNITS = 5
DESCRIPTIONS = {
    "reconstructions": "Fixed held-out images (top) above E[x | z = E_q[z|x]] (bottom).",
    "prior_samples": "E[x|z] for 16 fixed z ~ p(z).",
    "latent_traversal": "The first image's code, one most active unit per row swept -4..4.",
    "posterior_log_variance": "log Var q(z_d|x) of every unit over the fixed batch.",
    "critic_scores/joint": "Critic scores t(x_i, z_i), z_i ~ q(z|x_i).",
    "critic_scores/marginal": "Critic scores t(x_i, z_j) over a derangement j of the batch.",
}


def _decode_mean(model, z: np.ndarray, seed: int) -> np.ndarray:
    """E[x|z], or exact draws x ~ p(x|z) for an autoregressive decoder."""
    if getattr(model, "decoder_conditions_on_x", False):
        return np.asarray(model.decoder.sample(z, seed=seed))
    return np.asarray(model.decode(z).mean())


def _grid(images: np.ndarray, columns: int) -> np.ndarray:
    """(N, H, W, C) -> one (1, H', W', C) tiled image in [0, 1], ``columns`` per row."""
    rows = -(-len(images) // columns)
    padded = np.ones((rows * columns, *images.shape[1:]), np.float32)
    padded[: len(images)] = images
    tiled = tile_images(padded.reshape(rows, columns, *images.shape[1:]))
    return np.clip(tiled, 0.0, 1.0)[None]


def summary_values(
    model, images: np.ndarray, *, seed: int = 0, traversal_units: int = TRAVERSAL_UNITS
) -> dict[str, np.ndarray]:
    """The images (1, H, W, C) and histogram values of :class:`ImageSummaries`, by tag."""
    from tf_infomax.metrics.active_units import latent_variances, most_active_dims

    x = tf.convert_to_tensor(np.asarray(images, np.float32))
    mean, log_var = (np.asarray(t) for t in model.encode(x))
    reconstructions = np.asarray(model(x))
    units = most_active_dims(latent_variances(mean), min(traversal_units, mean.shape[1]))
    codes = traversal_codes(mean[0], units)  # (units, values, D)
    prior = tf.random.stateless_normal([NUM_PRIOR_SAMPLES, mean.shape[1]], seed=[seed, 0])
    decoded = _decode_mean(
        model, np.concatenate([np.asarray(prior), codes.reshape(-1, mean.shape[1])]), seed
    )
    sweeps = decoded[NUM_PRIOR_SAMPLES:].reshape(*codes.shape[:2], *images.shape[1:])
    pairs = np.stack([np.asarray(images, np.float32), reconstructions])
    values = {
        "reconstructions": np.clip(tile_images(pairs), 0.0, 1.0)[None],
        "prior_samples": _grid(decoded[:NUM_PRIOR_SAMPLES], 4),
        "latent_traversal": np.clip(tile_images(sweeps), 0.0, 1.0)[None],
        "posterior_log_variance": log_var.reshape(-1),
    }
    critic = getattr(model, "critic", None)
    if critic is not None and len(images) >= 2:
        noise = tf.random.stateless_normal(mean.shape, seed=[seed, 1])
        z = mean + np.exp(0.5 * log_var) * noise
        permutation = marginal_permutation(len(images), tf.constant([seed, 2], tf.int64))
        joint, marginal = critic.joint_and_marginal(x, z, permutation)
        values["critic_scores/joint"] = np.asarray(joint)
        values["critic_scores/marginal"] = np.asarray(marginal)
    return values


class ImageSummaries(keras.callbacks.Callback):
    """Writes the pictures and histograms of the module docstring every ``every`` epochs.

    Args:
        log_dir: folder of the event files (a run's ``logs/summaries``).
        images: the fixed batch of held-out images (N >= 2, in [0, 1]).
        every: epochs between summaries (1: every epoch); the last epoch is always written.
        seed: seed of the fixed prior samples, posterior noise and marginal pairs.
        traversal_units: most active units in the traversal.

    Steps are 0-based epochs, as Keras' ``TensorBoard`` callback's epoch summaries.

    Example:
        >>> model.fit(data, epochs=10, callbacks=[ImageSummaries("logs/summaries", x[:16])])
    """

    def __init__(
        self,
        log_dir: str | Path,
        images: np.ndarray,
        *,
        every: int = 1,
        seed: int = 0,
        traversal_units: int = TRAVERSAL_UNITS,
    ):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be >= 1 epoch, got {every}.")
        self.log_dir, self.images = str(log_dir), np.asarray(images, np.float32)
        self.every, self.seed, self.traversal_units = int(every), int(seed), traversal_units
        self._writer = None

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs") if self.params else None

    def on_epoch_end(self, epoch, logs=None):
        last = self.epochs is not None and epoch + 1 == self.epochs
        if (epoch + 1) % self.every and not last:
            return
        self.write(epoch)

    def write(self, step: int) -> None:
        """Write every summary at ``step`` and flush."""
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        values = summary_values(
            self.model, self.images, seed=self.seed, traversal_units=self.traversal_units
        )
        with self._writer.as_default(step=step):
            for tag, value in values.items():
                if tag in IMAGE_TAGS:
                    tf.summary.image(tag, value, max_outputs=1, description=DESCRIPTIONS[tag])
                else:
                    tf.summary.histogram(tag, value, description=DESCRIPTIONS[tag])
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def tensorboard_callbacks(run, config) -> list[keras.callbacks.Callback]:
    """What ``train`` logs to a run's ``logs/``: Keras' scalar curves, and unless switched off
    (``tensorboard_images``) the pictures of :class:`ImageSummaries` of the first
    ``tensorboard_examples`` validation images."""
    callbacks = [keras.callbacks.TensorBoard(str(run.logs_dir))]
    board = config.tensorboard
    if board.tensorboard_images:
        from tf_infomax.metrics.encodings import iterate_images
        from tf_infomax.projector import held_out

        images, _ = next(iterate_images(held_out(config, board.tensorboard_examples)))
        every, seed = board.tensorboard_every, config.seed
        callbacks.append(
            ImageSummaries(run.summaries_dir, np.asarray(images), every=every, seed=seed)
        )
    return callbacks
