"""Export trained encoders as versioned SavedModels for TF Serving and downstream models."""

from tf_infomax.serving.export import export_encoder, export_run
from tf_infomax.serving.signatures import SIGNATURE_NAMES
from tf_infomax.serving.versions import existing_versions, next_version

__all__ = ["SIGNATURE_NAMES", "existing_versions", "export_encoder", "export_run", "next_version"]
