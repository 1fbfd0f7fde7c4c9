"""tf-infomax: InfoMax-VAE and its baselines as Keras 3 models."""

from tf_infomax.models import METHODS, InfoMaxVAE, build_model
from tf_infomax.objectives import ESTIMATORS

__version__ = "0.1.0"
__all__ = ["ESTIMATORS", "METHODS", "InfoMaxVAE", "build_model", "__version__"]
