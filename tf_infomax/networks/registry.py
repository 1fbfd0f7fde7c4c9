"""Named architectures: each builds an (encoder, decoder) pair for an image shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import keras

from tf_infomax.networks.conv import conv_decoder, conv_encoder
from tf_infomax.networks.fc import fc_decoder, fc_encoder


class Networks(NamedTuple):
    encoder: keras.Model
    decoder: keras.Model


def _fc(image_shape, latent_dim, decoder_layers):
    return Networks(
        fc_encoder(image_shape, latent_dim),
        fc_decoder(image_shape, latent_dim, depth=decoder_layers or 4),
    )


def _conv(image_shape, latent_dim, decoder_layers):
    if decoder_layers is not None:
        raise ValueError(
            "decoder_layers applies to the 'fc' architecture (Tables 2-3); "
            "the 'conv' decoder is fixed by Table 5. Leave decoder_layers unset."
        )
    return Networks(conv_encoder(image_shape, latent_dim), conv_decoder(image_shape, latent_dim))


ARCHITECTURES: dict[str, Callable[..., Networks]] = {"fc": _fc, "conv": _conv}


def build_networks(
    arch: str,
    image_shape: tuple[int, int, int],
    latent_dim: int,
    decoder_layers: int | None = None,
) -> Networks:
    """Build the encoder and decoder of a named architecture.

    Args:
        arch: one of ``ARCHITECTURES``.
        image_shape: (H, W, C) of the data.
        latent_dim: size of z.
        decoder_layers: hidden layers of the generative net, where the architecture has that knob.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}.")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1, got {latent_dim}.")
    if decoder_layers is not None and decoder_layers < 1:
        raise ValueError(f"decoder_layers must be >= 1, got {decoder_layers}.")
    return ARCHITECTURES[arch](tuple(image_shape), latent_dim, decoder_layers)
