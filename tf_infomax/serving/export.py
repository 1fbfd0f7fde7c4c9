"""Export a trained encoder as a versioned SavedModel for TF Serving."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_infomax.serving import signatures
from tf_infomax.serving.versions import next_version, version_dir

METADATA_FILE = "assets.extra/tf_infomax.json"


def _encoder_of(model: keras.Model) -> keras.Model:
    """``model.encoder`` of an InfoMaxVAE, or ``model`` itself if it is an encoder."""
    encoder = getattr(model, "encoder", model)
    if not isinstance(encoder, keras.Model) or len(encoder.inputs) != 1:
        raise ValueError(f"Expected an InfoMaxVAE or a one-input encoder model, got {model!r}.")
    in_shape, out_shape = tuple(encoder.input_shape), tuple(encoder.output_shape)
    if len(in_shape) != 4 or None in in_shape[1:]:
        raise ValueError(f"The encoder must take images (batch, H, W, C); input shape {in_shape}.")
    if len(out_shape) != 2 or out_shape[-1] is None or out_shape[-1] % 2:
        raise ValueError(f"The encoder must output (batch, 2 * latent_dim); got {out_shape}.")
    return encoder


def _posterior_of(model: keras.Model, encoder: keras.Model) -> signatures.Posterior:
    """``model.encode`` (mean and floored log-variance) of an InfoMaxVAE, else the split output."""
    if model is not encoder and callable(getattr(model, "encode", None)):

        def posterior(images):
            return tuple(model.encode(images, training=False))

        return posterior
    return signatures.split_posterior(encoder)


def _verify(path: Path, posterior: signatures.Posterior, image_shape: tuple[int, ...]) -> None:
    """Reload the SavedModel and check it reproduces the in-memory model's ``encode``."""
    images = np.random.default_rng(0).random((3, *image_shape), dtype=np.float32)
    expected = np.concatenate([t.numpy() for t in posterior(tf.constant(images))], axis=-1)
    loaded = tf.saved_model.load(str(path))
    got = loaded.signatures[signatures.DEFAULT](**{signatures.IMAGES: tf.constant(images)})
    got = np.concatenate([got[signatures.MEAN], got[signatures.LOG_VAR]], axis=-1)
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        raise RuntimeError(
            f"The exported SavedModel disagrees with the in-memory model's encode "
            f"(max abs difference {np.abs(got - expected).max():.3g}); nothing was written."
        )


def export_encoder(
    model: keras.Model,
    base: str | Path,
    version: int | None = None,
    *,
    overwrite: bool = False,
    metadata: dict | None = None,
    verify: bool = True,
) -> Path:
    """Write ``model``'s encoder to ``base/<version>/`` with the signatures of :mod:`signatures`.

    Args:
        model: an ``InfoMaxVAE`` (its ``encoder`` is exported, serving what ``model.encode``
            computes, the log-variance floored at ``min_log_var``) or an encoder model mapping
            images (B, H, W, C) in [0, 1] to (B, 2 * latent_dim) = [mean, log_var].
        base: the model base path TF Serving watches (``--model_base_path``).
        version: integer version; default one more than the largest under ``base``.
        overwrite: replace ``base/<version>`` if it exists (otherwise FileExistsError).
        metadata: extra JSON-able facts stored in ``assets.extra/tf_infomax.json``.
        verify: reload the export and compare it with the in-memory ``model.encode`` (or the
            bare encoder's output) before it is moved into place.

    Returns:
        The version directory.
    """
    encoder = _encoder_of(model)
    posterior = _posterior_of(model, encoder)
    image_shape = tuple(int(d) for d in encoder.input_shape[1:])
    version = next_version(base) if version is None else version
    archive = keras.export.ExportArchive()
    archive.track(encoder)
    for name, endpoint in signatures.make_endpoints(encoder, posterior).items():
        archive.add_endpoint(name, endpoint.fn, endpoint.input_signature)
    with version_dir(base, version, overwrite=overwrite) as path:
        archive.write_out(str(path), verbose=False)
        info = {
            "image_shape": list(image_shape),
            "latent_dim": int(encoder.output_shape[-1]) // 2,
            "signatures": list(signatures.SIGNATURE_NAMES),
            "input_range": "serving_default and sample: float32 in [0, 1]; serving_uint8: 0..255",
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            **(metadata or {}),
        }
        (path / METADATA_FILE).parent.mkdir(exist_ok=True)
        (path / METADATA_FILE).write_text(json.dumps(info, indent=1))
        if verify:
            _verify(path, posterior, image_shape)
    return Path(base) / str(version)


def export_run(
    run_dir: str | Path, base: str | Path, version: int | None = None, *, overwrite: bool = False
) -> Path:
    """Export the encoder of a run directory written by ``tf-infomax train``."""
    from tf_infomax import data
    from tf_infomax.runs import RunDir

    run = RunDir(run_dir)
    config, model = run.config(), run.model()
    metadata = {"run_dir": str(run.path.resolve()), "train_config": config.flat()}
    record = run.data_record()
    if record:
        options = data.SourceOptions(**config.data.source_options())
        changed = data.warn_if_changed(record, options)
        metadata["data"] = {**record, **({"warning": changed} if changed else {})}
    return export_encoder(model, base, version, overwrite=overwrite, metadata=metadata)
