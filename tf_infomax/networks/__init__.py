"""Encoders, decoders, critics and classifiers of the paper's tables."""

from tf_infomax.networks.celeba import celeba_decoder, celeba_encoder
from tf_infomax.networks.cifar import cifar_decoder, cifar_encoder
from tf_infomax.networks.classifier import table7_classifier
from tf_infomax.networks.conv import conv_decoder, conv_encoder
from tf_infomax.networks.critic import MLPCritic
from tf_infomax.networks.fc import fc_decoder, fc_encoder
from tf_infomax.networks.masked_conv import MaskedConv2D, causal_mask
from tf_infomax.networks.pixelcnn import PixelCNNDecoder
from tf_infomax.networks.registry import (
    ARCHITECTURES,
    CRITIC_UNITS,
    Networks,
    build_networks,
    default_critic_units,
)
from tf_infomax.networks.resnet import resnet_encoder
from tf_infomax.networks.strided import strided_decoder, strided_encoder
from tf_infomax.networks.traversal import latent_traversal, tile_images, traversal_dims

__all__ = [
    "ARCHITECTURES",
    "CRITIC_UNITS",
    "MLPCritic",
    "MaskedConv2D",
    "Networks",
    "PixelCNNDecoder",
    "build_networks",
    "causal_mask",
    "celeba_decoder",
    "celeba_encoder",
    "cifar_decoder",
    "cifar_encoder",
    "conv_decoder",
    "conv_encoder",
    "default_critic_units",
    "fc_decoder",
    "fc_encoder",
    "latent_traversal",
    "resnet_encoder",
    "strided_decoder",
    "strided_encoder",
    "table7_classifier",
    "tile_images",
    "traversal_dims",
]
