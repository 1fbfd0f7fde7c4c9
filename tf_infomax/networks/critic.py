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

    Args:
        hidden_units: widths of the hidden layers.
        activation: hidden activation.

    Example:
        >>> critic = MLPCritic((32, 16))
        >>> joint, marginal = critic.joint_and_marginal(x, z, permutation)
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = MNIST_CRITIC_UNITS,
        activation: str = "relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
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

    def _project(self, x, z):
        flat_x = tf.reshape(x, [tf.shape(x)[0], -1])
        return self.x_projection(flat_x), self.z_projection(z)

    def call(self, x, z):
        """t(x_i, z_i) for each pair, shape (batch,)."""
        hx, hz = self._project(x, z)
        return tf.squeeze(self.head(hx + hz), -1)

    def joint_and_marginal(self, x, z, permutation):
        """Scores of (x_i, z_i) and of (x_i, z_perm(i)), each of shape (batch,)."""
        hx, hz = self._project(x, z)
        joint = tf.squeeze(self.head(hx + hz), -1)
        marginal = tf.squeeze(self.head(hx + tf.gather(hz, permutation)), -1)
        return joint, marginal

    def score_matrix(self, x, z):
        """scores[i, j] = t(x_i, z_j), shape (batch, batch)."""
        hx, hz = self._project(x, z)
        pairs = hx[:, None, :] + hz[None, :, :]
        batch = tf.shape(hx)[0]
        flat = tf.reshape(pairs, [batch * batch, self.hidden_units[0]])
        return tf.reshape(self.head(flat), [batch, batch])

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=list(self.hidden_units), activation=self.activation)
        return config
