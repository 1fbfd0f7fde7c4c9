"""Export a trained encoder as a versioned SavedModel for TF Serving."""

from __future__ import annotations

import contextlib
import json
import platform
from collections.abc import Callable, Mapping
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_infomax import distributions
from tf_infomax.serving import decoder_signatures, signatures
from tf_infomax.serving.versions import check_free, next_version, version_dir
from tf_infomax.serving.warmup import write_warmup

METADATA_FILE = "assets.extra/tf_infomax.json"
Requests = Mapping[str, Mapping[str, np.ndarray]]  # {signature: named inputs}


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


def _model_name(base: str | Path) -> str:
    """TF Serving's model name for ``base`` by its convention: the folder's name."""
    return Path(base).resolve().name


def _warmup_images(image_shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (1, *image_shape), dtype=np.uint8)


def _write_archive(
    path: Path,
    tracked: keras.Model,
    endpoints: Mapping[str, signatures.Endpoint],
    model_name: str,
    warmup: Requests,
    info: dict,
) -> None:
    """The SavedModel, its warm-up records and ``assets.extra/tf_infomax.json`` at ``path``."""
    archive = keras.export.ExportArchive()
    archive.track(tracked)
    for name, endpoint in endpoints.items():
        archive.add_endpoint(name, endpoint.fn, endpoint.input_signature)
    archive.write_out(str(path), verbose=False)
    write_warmup(path, model_name, warmup)
    info = {
        **info,
        "signatures": list(endpoints),
        "warmup_signatures": list(warmup),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }
    (path / METADATA_FILE).write_text(json.dumps(info, indent=1))


def _replay(loaded, warmup: Requests) -> None:
    """Answer each warm-up request, as TF Serving does before it serves (a failure fails the
    load there)."""
    for name, inputs in warmup.items():
        loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})


def _verify(path: Path, posterior: signatures.Posterior, image_shape: tuple[int, ...]):
    """Reload the SavedModel, check it reproduces the in-memory model's ``encode``; the
    loaded SavedModel."""
    images = np.random.default_rng(0).random((3, *image_shape), dtype=np.float32)
    expected = np.concatenate([t.numpy() for t in posterior(tf.constant(images))], axis=-1)
    loaded = tf.saved_model.load(str(path))
    got = loaded.signatures[signatures.DEFAULT](**{signatures.IMAGES: tf.constant(images)})
    got = np.concatenate([got[signatures.MEAN], got[signatures.LOG_VAR]], axis=-1)
    _check_close(got, expected, "encode")
    return loaded


def _check_close(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        raise RuntimeError(
            f"The exported SavedModel disagrees with the in-memory model's {what} "
            f"(max abs difference {np.abs(got - expected).max():.3g}); nothing was written."
        )


def _stage_encoder(
    model: keras.Model, path: Path, model_name: str, metadata: dict | None, verify: bool
) -> None:
    encoder = _encoder_of(model)
    posterior = _posterior_of(model, encoder)
    image_shape = tuple(int(d) for d in encoder.input_shape[1:])
    raw = _warmup_images(image_shape)
    warmup = {
        name: signatures.request_inputs(raw, name, seed=0) for name in signatures.SIGNATURE_NAMES
    }
    info = {
        "image_shape": list(image_shape),
        "latent_dim": int(encoder.output_shape[-1]) // 2,
        "input_range": "serving_default and sample: float32 in [0, 1]; serving_uint8: 0..255",
        **(metadata or {}),
    }
    endpoints = signatures.make_endpoints(encoder, posterior)
    _write_archive(path, encoder, endpoints, model_name, warmup, info)
    if verify:
        _replay(_verify(path, posterior, image_shape), warmup)


def _stage_decoder(
    model: keras.Model, path: Path, model_name: str, metadata: dict | None, verify: bool
) -> None:
    endpoints = decoder_signatures.make_decoder_endpoints(model)
    warmup = {
        name: decoder_signatures.request_inputs(name, model.latent_dim, seed=0)
        for name in decoder_signatures.DECODER_SIGNATURE_NAMES
    }
    info = {
        "image_shape": list(model.image_shape),
        "latent_dim": model.latent_dim,
        "likelihood": model.likelihood_name,
        "output": "images: E[x|z] (bernoulli: pixel probabilities in [0, 1])",
        **(metadata or {}),
    }
    _write_archive(path, model.decoder, endpoints, model_name, warmup, info)
    if not verify:
        return
    loaded = tf.saved_model.load(str(path))
    z = np.random.default_rng(0).standard_normal((3, model.latent_dim), np.float32)
    expected = distributions.likelihood_mean(model.likelihood_name, model.decoder(z)).numpy()
    got = loaded.signatures[decoder_signatures.DECODE](z=tf.constant(z))[signatures.IMAGES]
    _check_close(got.numpy(), expected, "decoder")
    seed, num = tf.constant(3, tf.int64), tf.constant(2, tf.int64)
    got = loaded.signatures[decoder_signatures.GENERATE](seed=seed, num=num)[signatures.IMAGES]
    _check_close(got.numpy(), model.sample(2, seed=3).numpy(), "sample")
    _replay(loaded, warmup)


Stage = Callable[..., None]  # (model, path, model_name, metadata, verify)


def _export(
    model: keras.Model,
    stages: Mapping[Path, tuple[Stage, dict | None]],
    version: int | None,
    overwrite: bool,
    verify: bool,
) -> int:
    """Write each ``{base: (stage, metadata)}`` to ``base/<version>``; nothing is moved into
    place unless every one succeeds. The default version is the first free in all bases."""
    bases = [Path(b) for b in stages]
    version = max(next_version(b) for b in bases) if version is None else version
    for base in bases:
        check_free(base, version, overwrite=overwrite)  # before anything is written
    with contextlib.ExitStack() as stack:
        for base, (stage, metadata) in stages.items():
            path = stack.enter_context(version_dir(base, version, overwrite=overwrite))
            stage(model, path, _model_name(base), metadata, verify)
    return version


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

    The version folder also holds ``assets.extra/tf_serving_warmup_requests``, one Predict
    request per signature that TF Serving replays when it loads the version.

    Args:
        model: an ``InfoMaxVAE`` (its ``encoder`` is exported, serving what ``model.encode``
            computes, the log-variance floored at ``min_log_var``) or an encoder model mapping
            images (B, H, W, C) in [0, 1] to (B, 2 * latent_dim) = [mean, log_var].
        base: the model base path TF Serving watches (``--model_base_path``); its folder name
            is the model name in the warm-up requests.
        version: integer version; default one more than the largest under ``base``.
        overwrite: replace ``base/<version>`` if it exists (otherwise FileExistsError).
        metadata: extra JSON-able facts stored in ``assets.extra/tf_infomax.json``.
        verify: reload the export, compare it with the in-memory ``model.encode`` (or the
            bare encoder's output) and answer the warm-up requests before it is moved into
            place.

    Returns:
        The version directory.
    """
    _encoder_of(model)  # a clear error before any folder is made
    version = _export(model, {Path(base): (_stage_encoder, metadata)}, version, overwrite, verify)
    return Path(base) / str(version)


def export_decoder(
    model: keras.Model,
    base: str | Path,
    version: int | None = None,
    *,
    overwrite: bool = False,
    metadata: dict | None = None,
    verify: bool = True,
) -> Path:
    """Write ``model``'s decoder to ``base/<version>/`` with the signatures of
    :mod:`decoder_signatures` (``decode``: z -> images, ``generate``: seed, num -> images).

    ``model`` is an ``InfoMaxVAE`` with a non-autoregressive decoder; the arguments are those
    of :func:`export_encoder`, and ``verify`` compares with ``model.decode``'s mean and
    ``model.sample``.
    """
    decoder_signatures.make_decoder_endpoints(model)  # a clear error before any folder is made
    version = _export(model, {Path(base): (_stage_decoder, metadata)}, version, overwrite, verify)
    return Path(base) / str(version)


def decoder_base_of(base: str | Path) -> Path:
    """The default model base path of the decoder: ``<base>_decoder`` beside ``base``."""
    base = Path(base)
    return base.with_name(f"{base.resolve().name}_decoder")


def export_run(
    run_dir: str | Path,
    base: str | Path,
    version: int | None = None,
    *,
    overwrite: bool = False,
    decoder_base: str | Path | None = None,
) -> Path:
    """Export the encoder of a run directory written by ``tf-infomax train``.

    With ``decoder_base``, the decoder is exported too, to ``decoder_base/<version>`` with the
    same version number; neither version is moved into place unless both are written.
    Returns the encoder's version directory.
    """
    from tf_infomax import data
    from tf_infomax.runs import RunDir

    if decoder_base is not None and Path(decoder_base).resolve() == Path(base).resolve():
        raise ValueError(
            f"The encoder and decoder need separate model base paths (TF Serving serves one "
            f"model per base path); both are {base}. Pass another --decoder-to."
        )
    run = RunDir(run_dir)
    config, model = run.config(), run.model()
    metadata = {"run_dir": str(run.path.resolve()), "train_config": config.flat()}
    record = run.data_record()
    if record:
        options = data.SourceOptions(**config.data.source_options())
        changed = data.warn_if_changed(record, options)
        metadata["data"] = {**record, **({"warning": changed} if changed else {})}
    stages = {Path(base): (_stage_encoder, metadata)}
    _encoder_of(model)
    if decoder_base is not None:
        decoder_signatures.make_decoder_endpoints(model)
        encoder = {"encoder_base": str(Path(base).resolve())}
        stages[Path(decoder_base)] = (_stage_decoder, {**metadata, **encoder})
    version = _export(model, stages, version, overwrite, verify=True)
    return Path(base) / str(version)
