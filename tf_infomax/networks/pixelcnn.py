"""The PixelVAE generative network: a PixelCNN conditioned on z (paper, Section 6.3).

p(x|z) = prod_i p(x_i | x_1, ..., x_{i-1}, z), each factor a Bernoulli whose logit is computed
from the earlier pixels by masked convolutions (the first of type A, the rest of type B) and
from z by a per-layer linear projection added as a bias to every pixel (a conditional PixelCNN,
van den Oord et al., 2016). Training uses teacher forcing: the logits of all pixels in one pass,
``decoder(z, x)``; :meth:`PixelCNNDecoder.sample` draws exact samples pixel by pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from tf_infomax.networks.masked_conv import MaskedConv2D

PIXELCNN_LAYERS = 12  # Section 6.3: "12-layer PixelCNN"
PIXELCNN_FILTERS = 64  # not given in the paper
FIRST_KERNEL_SIZE = 7  # as in PixelCNN (van den Oord et al., 2016)
KERNEL_SIZE = 3


@keras.saving.register_keras_serializable(package="tf_infomax")
class PixelCNNDecoder(keras.layers.Layer):
    """An autoregressive decoder z, x -> per-pixel Bernoulli logits of x.

    Layers: a ``first_kernel_size`` masked conv of type A, ``num_layers - 2`` residual
    ``kernel_size`` masked convs of type B (h <- h + relu(conv(h) + W_l z)) and a 1x1 masked conv
    of type B to the image channels; every layer adds its own projection of z.

    ``conditions_on_x = True`` tells :class:`~tf_infomax.models.InfoMaxVAE` to call it as
    ``decoder(z, x)`` and to sample with :meth:`sample`.

    Args:
        image_shape: (H, W, C) of the modelled images.
        latent_dim: size of z.
        num_layers: masked convolution layers, >= 2 (12 in Section 6.3).
        filters: feature maps of the hidden layers.
        first_kernel_size, kernel_size: kernel sizes of the type-A and of the hidden layers.

    Example:
        >>> decoder = PixelCNNDecoder((28, 28, 1), latent_dim=2)
        >>> logits = decoder(z, x)  # teacher forcing, shape (B, 28, 28, 1)
        >>> images = decoder.sample(z, seed=0)  # exact ancestral sampling, {0, 1}
    """

    conditions_on_x = True

    def __init__(
        self,
        image_shape: Sequence[int],
        latent_dim: int,
        *,
        num_layers: int = PIXELCNN_LAYERS,
        filters: int = PIXELCNN_FILTERS,
        first_kernel_size: int = FIRST_KERNEL_SIZE,
        kernel_size: int = KERNEL_SIZE,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_layers < 2:
            raise ValueError(f"A PixelCNN needs num_layers >= 2, got {num_layers}.")
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (H, W, C), got {image_shape}.")
        self.image_shape = tuple(int(d) for d in image_shape)
        self.latent_dim = int(latent_dim)
        self.num_layers = int(num_layers)
        self.filters = int(filters)
        self.first_kernel_size = int(first_kernel_size)
        self.kernel_size = int(kernel_size)
        channels = self.image_shape[-1]
        masked = dict(data_channels=channels)
        self.convs = [MaskedConv2D(filters, first_kernel_size, "A", name="masked_a", **masked)]
        self.convs += [
            MaskedConv2D(filters, kernel_size, "B", name=f"masked_b_{i}", **masked)
            for i in range(num_layers - 2)
        ]
        self.convs.append(MaskedConv2D(channels, 1, "B", name="logits", **masked))
        self.z_projections = [
            keras.layers.Dense(conv.filters, use_bias=False, name=f"z_projection_{i}")
            for i, conv in enumerate(self.convs)
        ]

    def build(self, z_shape, x_shape):
        if tuple(x_shape[1:]) != self.image_shape:
            raise ValueError(f"x shape {tuple(x_shape[1:])} != image_shape {self.image_shape}.")
        if int(z_shape[-1]) != self.latent_dim:
            raise ValueError(f"z has {z_shape[-1]} dimensions, expected {self.latent_dim}.")
        height, width, _ = self.image_shape
        in_shape = (None, *self.image_shape)
        for conv, projection in zip(self.convs, self.z_projections, strict=True):
            conv.build(in_shape)
            projection.build((None, self.latent_dim))
            in_shape = (None, height, width, conv.filters)

    def _conditioned(self, index: int, h, z):
        bias = self.z_projections[index](z)[:, None, None, :]
        return self.convs[index](h) + bias

    def call(self, z, x, training=None):
        """Logits of p(x_i | x_<i, z) for every pixel and channel, shape (B, H, W, C)."""
        h = tf.nn.relu(self._conditioned(0, x, z))
        for index in range(1, self.num_layers - 1):
            h = h + tf.nn.relu(self._conditioned(index, h, z))
        return self._conditioned(self.num_layers - 1, h, z)

    def compute_output_shape(self, z_shape, x_shape):
        return tuple(x_shape)

    def sample(self, z, seed: int = 0) -> tf.Tensor:
        """Exact samples x ~ p(x|z) in {0, 1}, drawn pixel by pixel (H * W * C passes).

        Stateless: the same ``z`` and ``seed`` give the same images.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        batch = tf.shape(z)[0]
        size = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]

        @tf.function
        def draw(x, index):
            logits = tf.reshape(self(z, x), [batch, size])[:, index]
            uniform = tf.random.stateless_uniform([batch], seed=tf.stack([seed, index]))
            bits = tf.cast(uniform < tf.sigmoid(logits), x.dtype)
            update = bits[:, None] * tf.one_hot(index, size, dtype=x.dtype)[None, :]
            return x + tf.reshape(update, tf.shape(x))

        x = tf.zeros([batch, *self.image_shape], tf.float32)
        for index in range(size):
            x = draw(x, tf.constant(index))
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=list(self.image_shape),
            latent_dim=self.latent_dim,
            num_layers=self.num_layers,
            filters=self.filters,
            first_kernel_size=self.first_kernel_size,
            kernel_size=self.kernel_size,
        )
        return config
