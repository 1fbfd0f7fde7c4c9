"""Export trained encoders (and decoders) as versioned SavedModels for TF Serving."""

from tf_infomax.serving.export import decoder_base_of, export_decoder, export_encoder, export_run
from tf_infomax.serving.signatures import SIGNATURE_NAMES
from tf_infomax.serving.versions import existing_versions, next_version

__all__ = [
    "SIGNATURE_NAMES",
    "decoder_base_of",
    "existing_versions",
    "export_decoder",
    "export_encoder",
    "export_run",
    "next_version",
]
