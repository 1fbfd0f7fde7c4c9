"""Encoders, decoders and critics of the paper's tables."""

from tf_infomax.networks.conv import conv_decoder, conv_encoder
from tf_infomax.networks.critic import MLPCritic
from tf_infomax.networks.fc import fc_decoder, fc_encoder
from tf_infomax.networks.registry import ARCHITECTURES, Networks, build_networks

__all__ = [
    "ARCHITECTURES",
    "MLPCritic",
    "Networks",
    "build_networks",
    "conv_decoder",
    "conv_encoder",
    "fc_decoder",
    "fc_encoder",
]
