"""The optional decoder export: decode (z -> images) and generate (seed, num -> images)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.serving import existing_versions, export_decoder
from tf_infomax.serving.decoder_signatures import make_decoder_endpoints, request_inputs
from tf_infomax.serving.grpc_client import request_arrays, start_emulator
from tf_infomax.serving.rest import PredictError, SessionPredictor
from tf_infomax.serving.warmup import read_warmup
from trainers import cli

from conftest import IMAGE_SHAPE, LATENT, tiny_model

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
TF_ONLY = """
import json, sys
for name in ("tensorflow_probability", "tf_infomax", "keras", "tf_keras"):
    sys.modules[name] = None  # any import of these now fails
import tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
out = m.signatures["generate"](seed=tf.constant(7, tf.int64), num=tf.constant(2, tf.int64))
print(json.dumps(out["images"].numpy().tolist()))
"""


def decoder_means(model, z) -> np.ndarray:
    return model.decode(tf.constant(z, tf.float32)).mean().numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny model, its decoder export at .../decoder/1, and a TF-only process loading it."""
    model = tiny_model("vae", seed=6)
    path = export_decoder(model, tmp_path_factory.mktemp("decoder") / "decoder")
    fresh = subprocess.Popen(
        [sys.executable, "-c", TF_ONLY, str(path)], stdout=subprocess.PIPE, text=True, env=ENV
    )  # started now, read at the end: importing TensorFlow is slow on a busy machine
    yield model, path, fresh
    fresh.kill()


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported[1]))


def test_decode_matches_the_keras_decoder(exported, loaded):
    model = exported[0]
    z = np.random.default_rng(1).standard_normal((4, LATENT)).astype(np.float32) * 3
    for name in ("decode", "serving_default"):
        images = loaded.signatures[name](z=tf.constant(z))["images"].numpy()
        assert images.shape == (4, *IMAGE_SHAPE)
        assert images.min() >= 0 and images.max() <= 1
        np.testing.assert_allclose(images, decoder_means(model, z), rtol=1e-5, atol=1e-6)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=f"z must have shape \\(batch, {LATENT}"
    ):
        SessionPredictor(exported[1]).run("decode", {"z": np.zeros((2, LATENT + 1), np.float32)})


def test_generate_is_model_sample_and_deterministic(exported, loaded):
    model = exported[0]
    generate = loaded.signatures["generate"]

    def call(seed, num):
        out = generate(seed=tf.constant(seed, tf.int64), num=tf.constant(num, tf.int64))
        return out["images"].numpy(), out["z"].numpy()

    images, z = call(7, 5)
    assert images.shape == (5, *IMAGE_SHAPE) and z.shape == (5, LATENT)
    assert images.min() >= 0 and images.max() <= 1
    np.testing.assert_array_equal(call(7, 5)[0], images)  # same seed, same images
    assert not np.allclose(call(8, 5)[0], images)
    np.testing.assert_allclose(images, model.sample(5, seed=7).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(images, decoder_means(model, z), rtol=1e-5, atol=1e-6)
    assert call(7, 0)[0].shape == (0, *IMAGE_SHAPE)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num must be >= 0"):
        call(7, -1)


def test_rest_and_grpc_style_requests_to_the_decoder(exported):
    """Scalars as TF Serving feeds them (JSON columnar, one-element vectors) are accepted."""
    model, path, _ = exported
    server = SessionPredictor(path)
    try:
        out = server.predict({"signature_name": "generate", "inputs": {"seed": 7, "num": 2}})
        np.testing.assert_allclose(out["outputs"]["images"], model.sample(2, 7), atol=1e-6)
        out = server.run("generate", {"seed": np.array([7]), "num": np.array([2])})
        np.testing.assert_allclose(out["images"], model.sample(2, 7), atol=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError, match="num must be one integer"):
            server.run("generate", {"seed": np.array(7), "num": np.array([2, 3])})
        z = request_inputs("decode", LATENT, n=3, seed=1)["z"]
        rows = server.predict({"signature_name": "decode", "instances": z.tolist()})
        np.testing.assert_allclose(rows["predictions"], decoder_means(model, z), atol=1e-6)
        with pytest.raises(PredictError, match="expecting list of objects"):
            server.predict({"signature_name": "generate", "instances": [7]})
    finally:
        server.close()


def test_make_request_to_the_decoder(exported, capsys):
    """export/make_request.py builds decoder bodies and gRPC requests as its README shows."""
    model, path, _ = exported
    spec = importlib.util.spec_from_file_location("make_request", ROOT / "export/make_request.py")
    make_request = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_request)
    emulator = start_emulator(str(path), "decoder")
    try:
        make_request.main([str(path), "--signature", "generate", "-n", "3", "--seed", "5",
                           "--grpc", f"localhost:{emulator.port}"])  # fmt: skip
        out = json.loads(capsys.readouterr().out)
        np.testing.assert_allclose(out["images"], model.sample(3, seed=5), atol=1e-6)
        make_request.main([str(path), "--signature", "decode", "-n", "2", "--seed", "1"])
        body = json.loads(capsys.readouterr().out)
        rows = emulator.predictor.predict(body)["predictions"]
        np.testing.assert_allclose(rows, decoder_means(model, body["instances"]), atol=1e-6)
        with pytest.raises(SystemExit):  # generate takes scalars: columnar only
            make_request.main([str(path), "--signature", "generate", "--format", "row"])
        assert "only the columnar format" in capsys.readouterr().err
    finally:
        emulator.close()


def test_decoder_warmup_records_replay(exported, loaded):
    model, path, _ = exported
    requests = [log.predict_log.request for log in read_warmup(path)]
    assert [r.model_spec.signature_name for r in requests] == [
        "serving_default",
        "decode",
        "generate",
    ]
    assert {r.model_spec.name for r in requests} == {"decoder"}
    for request in requests:
        arrays = request_arrays(request)
        out = loaded.signatures[request.model_spec.signature_name](**arrays)
        z = arrays["z"] if "z" in arrays else out["z"].numpy()
        np.testing.assert_allclose(out["images"], decoder_means(model, z), atol=1e-6)


def test_decoder_loads_with_tensorflow_only(exported):
    model, _, fresh = exported
    out, _ = fresh.communicate(timeout=180)
    assert fresh.returncode == 0
    images = json.loads(out.strip().splitlines()[-1])
    np.testing.assert_allclose(images, model.sample(2, seed=7), rtol=1e-5, atol=1e-6)


def test_autoregressive_decoders_are_refused():
    model = types.SimpleNamespace(decoder_conditions_on_x=True)
    with pytest.raises(ValueError, match="autoregressive .* without --with-decoder"):
        make_decoder_endpoints(model)


def test_cli_exports_encoder_and_decoder_as_one_version(tmp_path, capsys):
    from tf_infomax.training import CONFIG_FILE, MODEL_FILE, TrainConfig

    run_dir, models = tmp_path / "run", tmp_path / "models"
    run_dir.mkdir()
    model = tiny_model("vae", seed=4)
    model.compile()
    model.save(run_dir / MODEL_FILE)
    config = TrainConfig.from_flat(model="vae", latent_dim=LATENT, limit=40)
    (run_dir / CONFIG_FILE).write_text(json.dumps(config.to_dict()))

    args = ["export", str(run_dir), "--to", str(models / "encoder")]
    assert cli.main([*args, "--with-decoder"]) == 0  # default: a sibling encoder_decoder/
    assert "encoder_decoder/1 (signatures: serving_default, decode, generate)" in (
        capsys.readouterr().out
    )
    assert existing_versions(models / "encoder_decoder") == [1]
    (models / "decoder" / "3").mkdir(parents=True)  # a version of the decoder's base exists
    assert cli.main([*args, "--decoder-to", str(models / "decoder"), "--version", "3"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert existing_versions(models / "encoder") == [1]  # neither model got version 3
    assert not [p for p in (models / "encoder").iterdir() if p.name.startswith(".")]
    assert cli.main([*args, "--decoder-to", str(models / "decoder")]) == 0  # first free: 4
    assert existing_versions(models / "encoder") == [1, 4]
    assert existing_versions(models / "decoder") == [3, 4]
    meta = json.loads((models / "decoder" / "4" / "assets.extra" / "tf_infomax.json").read_text())
    assert meta["encoder_base"] == str((models / "encoder").resolve())
    assert meta["train_config"]["model"] == "vae" and meta["latent_dim"] == LATENT
    decoder = tf.saved_model.load(str(models / "decoder" / "4"))
    images = decoder.generate(tf.constant(3, tf.int64), tf.constant(2, tf.int64))["images"]
    np.testing.assert_allclose(images, model.sample(2, seed=3), rtol=1e-5, atol=1e-6)
    same = ["--decoder-to", str(models / "encoder")]
    assert cli.main([*args, *same]) == 2
    assert "separate model base paths" in capsys.readouterr().err
    assert existing_versions(models / "encoder") == [1, 4]
