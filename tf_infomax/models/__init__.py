"""The InfoMax-VAE model family."""

from tf_infomax.models.divergence import StopOnDivergence
from tf_infomax.models.factory import build_model
from tf_infomax.models.infomax_vae import InfoMaxVAE, PosteriorParams, Terms, build_critic
from tf_infomax.models.methods import METHODS, RegularizerWeights, method_weights

__all__ = [
    "METHODS",
    "InfoMaxVAE",
    "PosteriorParams",
    "RegularizerWeights",
    "StopOnDivergence",
    "Terms",
    "build_critic",
    "build_model",
    "method_weights",
]
