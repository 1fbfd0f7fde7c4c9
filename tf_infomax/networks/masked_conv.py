"""Masked convolutions of PixelCNN (van den Oord et al., 2016), the decoder of Section 6.3."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

MASK_TYPES = ("A", "B")


def causal_mask(
    kernel_size: tuple[int, int],
    in_channels: int,
    out_channels: int,
    *,
    mask_type: str,
    data_channels: int = 1,
) -> np.ndarray:
    """The (kh, kw, in, out) 0/1 mask that makes a convolution autoregressive.

    Pixels are ordered in raster scan (row by row, left to right) and, within a pixel, by data
    channel (R before G before B). Every feature map is assigned the data channel ``index %
    data_channels``. A kernel may read the rows above the centre, the pixels left of the centre
    and, at the centre, the feature maps of earlier channels (type ``"A"``, the first layer: an
    output never sees its own input) or of earlier and the same channel (type ``"B"``, the later
    layers).
    """
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}.")
    kh, kw = kernel_size
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"Masked convolutions need odd kernel sizes, got {kernel_size}.")
    mask = np.zeros((kh, kw, in_channels, out_channels), np.float32)
    ch, cw = kh // 2, kw // 2
    mask[:ch] = 1.0
    mask[ch, :cw] = 1.0
    in_group = np.arange(in_channels)[:, None] % data_channels
    out_group = np.arange(out_channels)[None, :] % data_channels
    allowed = out_group > in_group if mask_type == "A" else out_group >= in_group
    mask[ch, cw] = allowed.astype(np.float32)
    return mask


@keras.saving.register_keras_serializable(package="tf_infomax")
class MaskedConv2D(keras.layers.Conv2D):
    """A stride-1 ``"same"`` convolution whose kernel is multiplied by :func:`causal_mask`.

    Args:
        filters: output feature maps.
        kernel_size: odd kernel size (int or pair).
        mask_type: ``"A"`` (first layer, excludes the current input) or ``"B"`` (later layers).
        data_channels: channels of the modelled image (1 for binary images, 3 for RGB).
        **kwargs: other ``keras.layers.Conv2D`` arguments (not strides, padding or dilation).

    Example:
        >>> first = MaskedConv2D(32, 7, mask_type="A")
        >>> hidden = MaskedConv2D(32, 3, mask_type="B")
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        mask_type: str = "B",
        data_channels: int = 1,
        **kwargs,
    ):
        for key in ("strides", "dilation_rate"):
            value = kwargs.pop(key, 1)
            if tuple(np.broadcast_to(value, 2)) != (1, 1):
                raise ValueError(f"MaskedConv2D needs {key}=1, got {value!r}.")
        padding = kwargs.pop("padding", "same")
        if padding != "same":
            raise ValueError(f"MaskedConv2D needs padding='same', got {padding!r}.")
        if mask_type not in MASK_TYPES:
            raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}.")
        if data_channels < 1:
            raise ValueError(f"data_channels must be >= 1, got {data_channels}.")
        super().__init__(filters, kernel_size, padding="same", **kwargs)
        self.mask_type = mask_type
        self.data_channels = int(data_channels)
        self._mask = None

    def build(self, input_shape):
        super().build(input_shape)
        self._mask = causal_mask(
            self.kernel_size,
            int(input_shape[-1]),
            self.filters,
            mask_type=self.mask_type,
            data_channels=self.data_channels,
        )

    def convolution_op(self, inputs, kernel):
        masked = ops.multiply(kernel, ops.convert_to_tensor(self._mask, dtype=kernel.dtype))
        return super().convolution_op(inputs, masked)

    def get_config(self):
        config = super().get_config()
        config.update(mask_type=self.mask_type, data_channels=self.data_channels)
        return config
