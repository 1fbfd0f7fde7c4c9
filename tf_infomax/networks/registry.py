"""Named architectures: each builds an (encoder, decoder) pair for an image shape.

* ``fc``: Table 5 top, FC 4 x 1000 LeakyReLU(0.2); MNIST critic. Any (H, W, C).
* ``conv``: Table 5 bottom, 4x4 convs and up-convs; MNIST critic. Any (H, W, C): the decoder
  upsamples to the next multiple of 16 and crops.
* ``cifar``: Table 6, 32 x 32 images only (any C); CIFAR critic.
* ``celeba``: Table 8, 64 x 64 images only (any C), LeakyReLU(0.2) encoder; CelebA critic.
* ``pixelvae``: Section 6.3, 3-block ResNet encoder and 12-layer PixelCNN decoder conditioned
  on z (Bernoulli likelihood); MNIST critic. Any (H, W, C).

Builders take ``(image_shape, latent_dim, decoder_layers, **options)``; ``options`` are
architecture-specific widths (e.g. ``filters`` of the PixelCNN) for reduced or test models.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import keras

from tf_infomax.networks.celeba import (
    CELEBA_CRITIC_UNITS,
    CELEBA_DECODER_FILTERS,
    celeba_decoder,
    celeba_encoder,
)
from tf_infomax.networks.cifar import (
    CIFAR_CRITIC_UNITS,
    CIFAR_DECODER_FILTERS,
    cifar_decoder,
    cifar_encoder,
)
from tf_infomax.networks.conv import conv_decoder, conv_encoder
from tf_infomax.networks.critic import MNIST_CRITIC_UNITS
from tf_infomax.networks.fc import fc_decoder, fc_encoder
from tf_infomax.networks.pixelcnn import PIXELCNN_LAYERS, PixelCNNDecoder
from tf_infomax.networks.resnet import resnet_encoder


class Networks(NamedTuple):
    encoder: keras.Model
    decoder: keras.Model | keras.layers.Layer


def _no_decoder_layers(arch: str, decoder_layers: int | None) -> None:
    if decoder_layers is not None:
        raise ValueError(
            "decoder_layers applies to the 'fc' architecture (Tables 2-3) and to the PixelCNN "
            f"of 'pixelvae'; the '{arch}' decoder is fixed by its table: leave it unset."
        )


def _fc(image_shape, latent_dim, decoder_layers, *, units=1000):
    """Table 5 top. ``units`` replaces the width 1000 of every hidden layer (same depth)."""
    return Networks(
        fc_encoder(image_shape, latent_dim, units=units),
        fc_decoder(image_shape, latent_dim, units=units, depth=decoder_layers or 4),
    )


def _conv(image_shape, latent_dim, decoder_layers):
    _no_decoder_layers("conv", decoder_layers)
    return Networks(conv_encoder(image_shape, latent_dim), conv_decoder(image_shape, latent_dim))


def _cifar(image_shape, latent_dim, decoder_layers, *, encoder_filters=None, decoder_filters=None):
    """Table 6. ``encoder_filters``/``decoder_filters`` replace the widths (same depth)."""
    _no_decoder_layers("cifar", decoder_layers)
    _square_only("cifar", image_shape, len(decoder_filters or (0, *CIFAR_DECODER_FILTERS)))
    enc = {} if encoder_filters is None else {"filters": encoder_filters}
    dec = {} if decoder_filters is None else _start_and_rest(decoder_filters)
    return Networks(
        cifar_encoder(image_shape, latent_dim, **enc), cifar_decoder(image_shape, latent_dim, **dec)
    )


def _celeba(image_shape, latent_dim, decoder_layers, *, encoder_filters=None, decoder_filters=None):
    """Table 8. ``encoder_filters``/``decoder_filters`` replace the widths (same depth)."""
    _no_decoder_layers("celeba", decoder_layers)
    _square_only("celeba", image_shape, len(decoder_filters or (0, *CELEBA_DECODER_FILTERS)))
    enc = {} if encoder_filters is None else {"filters": encoder_filters}
    dec = {} if decoder_filters is None else _start_and_rest(decoder_filters)
    return Networks(
        celeba_encoder(image_shape, latent_dim, **enc),
        celeba_decoder(image_shape, latent_dim, **dec),
    )


def _square_only(arch: str, image_shape, decoder_widths: int) -> None:
    """The strided decoders double a 1 x 1 map once per width: one square size only."""
    size = 2**decoder_widths
    height, width = image_shape[:2]
    if (height, width) != (size, size):
        raise ValueError(
            f"The '{arch}' architecture takes {size} x {size} images only (its decoder doubles "
            f"a 1 x 1 map {decoder_widths} times); these are {height} x {width}. Resize them with "
            f"--image-size {size} {size}, or use --arch fc or conv, which take any size."
        )


def _start_and_rest(filters) -> dict:
    """Decoder widths given as one list: the 1x1 conv on z, then each up-conv."""
    return {"start_filters": filters[0], "filters": tuple(filters[1:])}


def _pixelvae(image_shape, latent_dim, decoder_layers, *, encoder_filters=None, filters=None):
    """Section 6.3. ``decoder_layers``: PixelCNN layers (12); ``filters``: its width."""
    enc = {} if encoder_filters is None else {"filters": encoder_filters}
    dec = {} if filters is None else {"filters": filters}
    decoder = PixelCNNDecoder(
        image_shape,
        latent_dim,
        num_layers=decoder_layers or PIXELCNN_LAYERS,
        name="pixelcnn_decoder",
        **dec,
    )
    decoder.build((None, latent_dim), (None, *image_shape))
    return Networks(resnet_encoder(image_shape, latent_dim, **enc), decoder)


ARCHITECTURES: dict[str, Callable[..., Networks]] = {
    "fc": _fc,
    "conv": _conv,
    "cifar": _cifar,
    "celeba": _celeba,
    "pixelvae": _pixelvae,
}

# The authors' critic MLP hidden widths on [flatten(x), z] per architecture.
CRITIC_UNITS: dict[str, tuple[int, ...]] = {
    "fc": MNIST_CRITIC_UNITS,
    "conv": MNIST_CRITIC_UNITS,
    "cifar": CIFAR_CRITIC_UNITS,
    "celeba": CELEBA_CRITIC_UNITS,
    "pixelvae": MNIST_CRITIC_UNITS,
}


def default_critic_units(arch: str) -> tuple[int, ...]:
    """Hidden widths of the authors' critic for ``arch`` (MNIST's for unknown names)."""
    return CRITIC_UNITS.get(arch, MNIST_CRITIC_UNITS)


def build_networks(
    arch: str,
    image_shape: tuple[int, int, int],
    latent_dim: int,
    decoder_layers: int | None = None,
    **options,
) -> Networks:
    """Build the encoder and decoder of a named architecture.

    Args:
        arch: one of ``ARCHITECTURES``.
        image_shape: (H, W, C) of the data.
        latent_dim: size of z.
        decoder_layers: hidden layers of the generative net, where the architecture has that knob.
        **options: architecture-specific widths (see the builders in this module).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}.")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}.")
    if decoder_layers is not None and decoder_layers < 1:
        raise ValueError(f"decoder_layers must be >= 1, got {decoder_layers}.")
    builder = ARCHITECTURES[arch]
    try:
        inspect.signature(builder).bind(image_shape, latent_dim, decoder_layers, **options)
    except TypeError as error:
        raise ValueError(
            f"Bad options {sorted(options)} for architecture {arch!r}: {error}."
        ) from None
    return builder(tuple(image_shape), latent_dim, decoder_layers, **options)
