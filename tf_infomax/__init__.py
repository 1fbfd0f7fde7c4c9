"""tf-infomax: InfoMax-VAE and its baselines as Keras 3 models."""

import os

# oneDNN kernels are 16-70% faster here (docs/performance.md), but TensorFlow turns them on by
# default only on CPUs with AVX512-VNNI/AMX. This takes effect only if TensorFlow is not imported
# yet; TF_ENABLE_ONEDNN_OPTS=0 keeps TensorFlow's default.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from tf_infomax.models import METHODS, InfoMaxVAE, build_model  # noqa: E402
from tf_infomax.objectives import ESTIMATORS  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ESTIMATORS", "METHODS", "InfoMaxVAE", "build_model", "__version__"]
