"""The critic t(x, z) of the mutual-information bound (paper, Figure 1, bottom network)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

# The authors' MNIST critic: 784 + z -> 1000 -> 400 -> 100 -> 1.
MNIST_CRITIC_UNITS = (1000, 400, 100)


@keras.saving.register_keras_serializable(package="tf_infomax")
class MLPCritic(keras.layers.Layer):
    """An MLP on the concatenation [flatten(x), z], returning one score per pair.

    The first layer W [x; z] + b is computed as (W_x x + b) + W_z z, so the x-projection is
    computed once per batch and shared by the joint pairs, the permuted (marginal) pairs and the
    all-pairs score matrix of InfoNCE. The maths is that of the plain MLP.

    Scores are bounded softly, t = bound * tanh(t_raw / bound). The optimal critic of the
    KL bounds is t* = log q(z|x)/q(z) + const, and q(z|x)/q(z) <= N on N training examples, so
    a bound of 20 (> 1 + log 1e8) leaves the optimum representable, while keeping the encoder
    from chasing unbounded scores (without it, InfoMax-VAE with alpha = 10 diverged to inf in
    its second Fashion-MNIST epoch). ``output_bound=None`` gives the raw, unbounded MLP. The
    training critic of ``build_critic`` uses 6, about 1 + log of the batch of 100: with 20 the
    f-KL runs still diverged or needed clipping (docs/results/fashion_mnist_ablation_notes.md);
    the post-hoc MI critic of ``tf_infomax.metrics`` keeps 20.

    Args:
        hidden_units: widths of the hidden layers.
        activation: hidden activation.
        output_bound: soft bound on |t|, or None.

    Example:
        >>> critic = MLPCritic((32, 16))
        >>> joint, marginal = critic.joint_and_marginal(x, z, permutation)
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = MNIST_CRITIC_UNITS,
        activation: str = "relu",
        output_bound: float | None = 20.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if output_bound is not None and not output_bound > 0:
            raise ValueError(f"output_bound must be > 0 or None, got {output_bound}.")
        self.output_bound = None if output_bound is None else float(output_bound)
        if not hidden_units:
            raise ValueError("MLPCritic needs at least one hidden layer.")
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.activation = activation
        self.x_projection = keras.layers.Dense(self.hidden_units[0], name="x_projection")
        self.z_projection = keras.layers.Dense(
            self.hidden_units[0], use_bias=False, name="z_projection"
        )
        self.head = keras.Sequential(
            [keras.layers.Activation(activation)]
            + [keras.layers.Dense(u, activation=activation) for u in self.hidden_units[1:]]
            + [keras.layers.Dense(1)],
            name="head",
        )

    def build(self, x_shape, z_shape):
        flat = 1
        for d in x_shape[1:]:
            flat *= int(d)
        self.x_projection.build((None, flat))
        self.z_projection.build((None, int(z_shape[-1])))
        self.head.build((None, self.hidden_units[0]))

    def _scores(self, hidden):
        raw = tf.squeeze(self.head(hidden), -1)
        if self.output_bound is None:
            return raw
        return self.output_bound * tf.tanh(raw / self.output_bound)

    def _project(self, x, z):
        flat_x = tf.reshape(x, [tf.shape(x)[0], -1])
        return self.x_projection(flat_x), self.z_projection(z)

    def call(self, x, z):
        """t(x_i, z_i) for each pair, shape (batch,)."""
        hx, hz = self._project(x, z)
        return self._scores(hx + hz)

    def joint_and_marginal(self, x, z, permutation, partners=None):
        """Scores of (x_i, z_i), shape (batch,), and of (x_i, z_perm(i)), shape (K * batch,).

        ``permutation`` holds K blocks of ``batch`` partner indices (K >= 1): row k * batch + i
        pairs x_i with z of its partner in block k. ``partners``: those z when they are not
        rows of ``z`` (e.g. gathered from every replica); ``permutation`` is then unused.
        """
        hx, hz = self._project(x, z)
        partner = tf.gather(hz, permutation) if partners is None else self.z_projection(partners)
        blocks = tf.shape(partner)[0] // tf.shape(hx)[0]
        return self._scores(hx + hz), self._scores(tf.tile(hx, [blocks, 1]) + partner)

    def score_matrix(self, x, z):
        """scores[i, j] = t(x_i, z_j), shape (batch, batch)."""
        hx, hz = self._project(x, z)
        pairs = hx[:, None, :] + hz[None, :, :]
        batch = tf.shape(hx)[0]
        flat = tf.reshape(pairs, [batch * batch, self.hidden_units[0]])
        return tf.reshape(self._scores(flat), [batch, batch])

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=list(self.hidden_units),
            activation=self.activation,
            output_bound=self.output_bound,
        )
        return config
