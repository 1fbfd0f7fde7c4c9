"""Export for TF Serving: versions, signatures, bad input, REST formats, fresh-process loading."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tf_infomax import build_model
from tf_infomax.serving import existing_versions, export_encoder, next_version
from tf_infomax.serving.rest import PredictError, SessionPredictor
from trainers import cli

from conftest import IMAGE_SHAPE, LATENT, tiny_images, tiny_model

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def encodings(model, images):
    mean, log_var = model.encode(images)
    return mean.numpy(), log_var.numpy()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny model and its export at BASE/1."""
    model = tiny_model("vae", seed=3)
    base = tmp_path_factory.mktemp("serving") / "encoder"
    return model, export_encoder(model, base)


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported[1]))


@pytest.fixture(scope="module")
def server(exported):
    predictor = SessionPredictor(exported[1])
    yield predictor
    predictor.close()


# ---------------------------------------------------------------- versions
def test_versions_increment_and_are_never_overwritten(tmp_path):
    base = tmp_path / "m"
    assert next_version(base) == 1
    (base / "notes").mkdir(parents=True)  # non-numeric entries are not versions
    first, second = tiny_model("vae", seed=1), tiny_model("vae", seed=2)
    assert export_encoder(first, base, verify=False) == base / "1"
    assert export_encoder(first.encoder, base, 7, verify=False) == base / "7"
    assert export_encoder(first, base, verify=False) == base / "8"
    assert existing_versions(base) == [1, 7, 8]
    with pytest.raises(FileExistsError, match="--overwrite"):
        export_encoder(second, base, 7)
    export_encoder(second, base, 7, overwrite=True)
    x = tiny_images(4)
    out = tf.saved_model.load(str(base / "7")).signatures["serving_default"](images=x)
    np.testing.assert_allclose(out["mean"], encodings(second, x)[0], rtol=1e-5, atol=1e-6)
    assert sorted(p.name for p in base.iterdir()) == ["1", "7", "8", "notes"]  # no scratch left
    for bad in (-1, 1.5, "2"):
        with pytest.raises(ValueError, match="non-negative integer"):
            export_encoder(first, base, bad)


def test_export_rejects_models_that_are_not_image_encoders(tmp_path):
    import keras

    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="images"):
        export_encoder(keras.Model(inputs, keras.layers.Dense(6)(inputs)), tmp_path)
    image = keras.Input(IMAGE_SHAPE)
    odd = keras.Model(image, keras.layers.Dense(5)(keras.layers.Flatten()(image)))
    with pytest.raises(ValueError, match="2 \\* latent_dim"):
        export_encoder(odd, tmp_path)


# ---------------------------------------------------------------- signatures
def test_signatures_match_the_in_memory_encoder(exported, loaded):
    model, _ = exported
    x = tiny_images(5)
    mean, log_var = encodings(model, x)
    out = loaded.signatures["serving_default"](images=tf.constant(x))
    assert set(out) == {"mean", "log_var"}
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["log_var"], log_var, rtol=1e-5, atol=1e-6)

    raw = np.random.default_rng(1).integers(0, 256, (5, *IMAGE_SHAPE), dtype=np.uint8)
    out = loaded.signatures["serving_uint8"](images=tf.constant(raw))
    expected = encodings(model, raw.astype(np.float32) / 255.0)
    np.testing.assert_allclose(out["mean"], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["log_var"], expected[1], rtol=1e-5, atol=1e-6)


def test_sample_is_reproducible_per_example_and_fresh_without_seed(exported, loaded):
    model, _ = exported
    sample = loaded.signatures["sample"]
    x = tiny_images(4)
    seeds = tf.constant([5, 6, 5, 9], tf.int64)
    out = sample(images=x, seed=seeds)
    assert set(out) == {"mean", "log_var", "z"}
    mean, log_var = encodings(model, x)
    eps = np.stack([tf.random.stateless_normal([LATENT], seed=[int(s), 0]) for s in seeds])
    np.testing.assert_allclose(out["z"], mean + np.exp(0.5 * log_var) * eps, rtol=1e-5, atol=1e-5)
    # Same image and seed, alone or in another batch: same z (TF Serving may batch requests).
    alone = sample(images=x[2:3], seed=tf.constant([5], tf.int64))["z"]
    np.testing.assert_allclose(alone[0], out["z"][2], rtol=1e-6)
    # Negative seeds and the default (no seed) draw fresh noise.
    fresh = [sample(images=x, seed=tf.constant([-1] * 4, tf.int64))["z"] for _ in range(2)]
    assert not np.allclose(fresh[0], fresh[1])
    unseeded = [loaded.sample(tf.constant(x))["z"] for _ in range(2)]
    assert not np.allclose(unseeded[0], unseeded[1])


def test_sample_signature_without_seed_as_documented(exported, loaded):
    """Python signatures need every input; docs/serving.md gives the calls that leave it out."""
    model, _ = exported
    x = tf.constant(tiny_images(3))
    with pytest.raises(TypeError, match="seed"):  # the limitation the docs explain
        loaded.signatures["sample"](images=x)
    fresh = [
        loaded.signatures["sample"](images=x, seed=tf.constant([], tf.int64))["z"] for _ in range(2)
    ]
    assert fresh[0].shape == (3, LATENT) and not np.allclose(fresh[0], fresh[1])
    seeds = tf.constant([4, 5, 6], tf.int64)
    np.testing.assert_allclose(
        loaded.sample(x, seeds)["z"], loaded.signatures["sample"](images=x, seed=seeds)["z"]
    )
    np.testing.assert_allclose(loaded.sample(x)["mean"], encodings(model, x)[0], atol=1e-5)


def test_export_serves_the_floored_log_variance(tmp_path):
    """The export computes model.encode: raw log-variances below min_log_var are floored."""
    from tf_infomax.serving import export

    model = tiny_model("vae", seed=5)
    model.min_log_var = -10.0
    last = model.encoder.layers[-1]
    kernel, bias = last.get_weights()
    bias[LATENT:] = -50.0  # raw log-variances far below the floor (-10)
    last.set_weights([kernel, bias])
    path = export_encoder(model, tmp_path / "m")
    loaded = tf.saved_model.load(str(path))
    x = tiny_images(4)
    mean, log_var = encodings(model, x)
    assert (log_var == model.min_log_var).all()
    for out in (
        loaded.signatures["serving_default"](images=tf.constant(x)),
        loaded.signatures["serving_uint8"](images=tf.constant(np.uint8(np.round(x * 255)))),
        loaded.signatures["sample"](
            images=tf.constant(x), seed=tf.constant([1, 2, 3, 4], tf.int64)
        ),
    ):
        np.testing.assert_allclose(out["log_var"], log_var, atol=1e-5)
    out = loaded.signatures["serving_default"](images=tf.constant(x))
    np.testing.assert_allclose(out["mean"], mean, atol=1e-5)
    # The self-check compares with model.encode: an unfloored export fails it.
    bare = export_encoder(model.encoder, tmp_path / "bare", verify=False)
    with pytest.raises(RuntimeError, match="disagrees with the in-memory model's encode"):
        export._verify(bare, lambda images: tuple(model.encode(images)), IMAGE_SHAPE)


@pytest.mark.parametrize(
    "images, match",
    [
        (tiny_images(2)[..., 0], "must have shape \\(batch, 6, 5, 1\\)"),  # rank 3
        (tiny_images(2).reshape(2, 5, 6, 1), "must have shape"),  # spatial size
        (np.concatenate([tiny_images(2)] * 2, -1), "must have shape"),  # channels
        (tiny_images(2) * 255, "in \\[0, 1\\]"),
        (np.where(tiny_images(2) > 0.5, np.nan, 0.2).astype(np.float32), "without NaN"),
    ],
    ids=["rank", "spatial", "channels", "range", "nan"],
)
def test_bad_images_get_clear_errors(loaded, images, match):
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        loaded.signatures["serving_default"](images=tf.constant(images, tf.float32))


def test_bad_dtype_and_seed_get_errors(loaded):
    x = tiny_images(3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="float tensor but is a uint8"):
        loaded.signatures["serving_default"](images=tf.constant(x, tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="uint8 tensor but is a float"):
        loaded.signatures["serving_uint8"](images=tf.constant(x))
    with pytest.raises(tf.errors.InvalidArgumentError, match="one integer per image"):
        loaded.signatures["sample"](images=x, seed=tf.constant([1, 2], tf.int64))


def test_conv_encoder_with_colour_images(tmp_path):
    model = build_model("vae", image_shape=(8, 8, 3), latent_dim=4, arch="conv")
    path = export_encoder(model, tmp_path)
    x = np.random.default_rng(0).random((2, 8, 8, 3), dtype=np.float32)
    out = tf.saved_model.load(str(path)).signatures["serving_default"](images=x)
    np.testing.assert_allclose(out["mean"], encodings(model, x)[0], rtol=1e-4, atol=1e-5)
    meta = json.loads((path / "assets.extra" / "tf_infomax.json").read_text())
    assert meta["image_shape"] == [8, 8, 3] and meta["latent_dim"] == 4


# ---------------------------------------------------------------- TF Serving REST formats
def test_rest_row_and_columnar_requests(exported, server):
    model, _ = exported
    x = tiny_images(3)
    mean, log_var = encodings(model, x)
    rows = server.predict(json.dumps({"instances": x.tolist()}))["predictions"]
    assert [set(r) for r in rows] == [{"mean", "log_var"}] * 3
    np.testing.assert_allclose([r["mean"] for r in rows], mean, rtol=1e-5, atol=1e-6)
    named = {"instances": [{"images": image} for image in x.tolist()]}
    rows = server.predict(named)["predictions"]
    np.testing.assert_allclose([r["log_var"] for r in rows], log_var, rtol=1e-5, atol=1e-6)
    cols = server.predict({"inputs": {"images": x.tolist()}})["outputs"]
    np.testing.assert_allclose(cols["mean"], mean, rtol=1e-5, atol=1e-6)
    cols = server.predict({"inputs": x.tolist()})["outputs"]  # one input: a bare value
    np.testing.assert_allclose(cols["log_var"], log_var, rtol=1e-5, atol=1e-6)

    raw = (x * 255).round().astype(np.uint8)
    body = {"signature_name": "serving_uint8", "instances": raw.tolist()}
    rows = server.predict(body)["predictions"]
    expected = encodings(model, raw.astype(np.float32) / 255)[0]
    np.testing.assert_allclose([r["mean"] for r in rows], expected, rtol=1e-5, atol=1e-6)

    seeded = [{"images": image, "seed": 11 + i} for i, image in enumerate(x.tolist())]
    rows = server.predict({"signature_name": "sample", "instances": seeded})["predictions"]
    cols = server.predict(
        {"signature_name": "sample", "inputs": {"images": x.tolist(), "seed": [11, 12, 13]}}
    )["outputs"]
    np.testing.assert_allclose([r["z"] for r in rows], cols["z"], rtol=1e-6)
    # A gRPC-style request may leave out the seed: the SignatureDef has a default.
    assert server.run("sample", {"images": x})["z"].shape == (3, LATENT)


@pytest.mark.parametrize(
    "body, match",
    [
        ({"signature_name": "sample", "instances": [[0.5]]}, "expecting list of objects"),
        ({"signature_name": "sample", "inputs": {"images": [[0.5]]}}, "Missing named input"),
        ({"instances": [{"images": [[[0.5]]], "extra": 1}]}, "keys must be"),
        ({"signature_name": "nope", "instances": [1]}, "not found"),
        ({"instances": [[[[0.5]]]]}, "must have shape"),
        ({"instances": np.full((1, *IMAGE_SHAPE), 2.0).tolist()}, "in \\[0, 1\\]"),
        ({"signature_name": "serving_uint8", "instances": [[[[256]]]]}, "out of range"),
    ],
    ids=["row-plain", "col-missing", "row-extra", "signature", "shape", "range", "uint8"],
)
def test_rest_bad_requests(server, body, match):
    with pytest.raises(PredictError, match=match):
        server.predict(body)


# ---------------------------------------------------------------- as a user would: fresh processes
FRESH_IMAGES, CLI_IMAGES, SEEDS = tiny_images(4), tiny_images(2), (1, 2, 3, 4)
TF_ONLY = """
import json, sys
for name in ("tensorflow_probability", "tf_infomax", "keras", "tf_keras"):
    sys.modules[name] = None  # any import of these now fails
import numpy as np, tensorflow as tf
m = tf.saved_model.load(sys.argv[1])
x = np.asarray(json.loads(sys.argv[2]), np.float32)
out = {k: v.numpy().tolist() for k, v in m.signatures["serving_default"](images=x).items()}
seed = tf.constant(json.loads(sys.argv[3]), tf.int64)
out["z"] = m.signatures["sample"](images=x, seed=seed)["z"].numpy().tolist()
print(json.dumps(out))
"""


class Background:
    """Commands started at once (each imports TensorFlow: slow on a busy machine)."""

    def __init__(self, folder: Path):
        self.folder, self.procs = folder, {}

    def start(self, name: str, args: list) -> None:
        out, err = (self.folder / f"{name}.out", self.folder / f"{name}.err")
        with out.open("w") as stdout, err.open("w") as stderr:
            cmd = list(map(str, args))
            self.procs[name] = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=ENV)

    def result(self, name: str) -> tuple[str, str]:
        code = self.procs[name].wait(timeout=180)
        out, err = ((self.folder / f"{name}.{k}").read_text() for k in ("out", "err"))
        assert code == 0, err[-2000:]
        return out, err


@pytest.fixture(scope="module", autouse=True)
def background(exported, tmp_path_factory):
    """Start the fresh-process commands before the in-process tests run."""
    _, path = exported
    jobs = Background(tmp_path_factory.mktemp("background"))
    jobs.start(
        "tf_only",
        [sys.executable, "-c", TF_ONLY, path, json.dumps(FRESH_IMAGES.tolist()), list(SEEDS)],
    )
    jobs.start("show", [BIN / "saved_model_cli", "show", "--all", "--dir", path])
    run = ["run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default"]
    images = f"images={CLI_IMAGES.tolist()}"
    jobs.start(
        "run", [BIN / "saved_model_cli", *run, "--input_exprs", images, "--outdir", jobs.folder]
    )
    yield jobs
    for proc in jobs.procs.values():
        if proc.poll() is None:
            proc.kill()


def test_loads_with_tensorflow_only_in_a_fresh_process(exported, background):
    model, _ = exported
    out, _ = background.result("tf_only")
    out = json.loads(out.strip().splitlines()[-1])
    mean, log_var = encodings(model, FRESH_IMAGES)
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["log_var"], log_var, rtol=1e-5, atol=1e-6)
    eps = np.stack([tf.random.stateless_normal([LATENT], seed=[s, 0]) for s in SEEDS])
    np.testing.assert_allclose(out["z"], mean + np.exp(0.5 * log_var) * eps, atol=1e-5)


def test_saved_model_cli_show(background):
    show, _ = background.result("show")
    for text in (
        "signature_def['serving_default']",
        "signature_def['sample']",
        "signature_def['serving_uint8']",
        "inputs['images']",
        "inputs['seed']",
        "outputs['mean']",
        "outputs['log_var']",
        "outputs['z']",
        "shape: (-1, 6, 5, 1)",
        "dtype: DT_UINT8",
        "Method name is: tensorflow/serving/predict",
    ):
        assert text in show, text
    assert "DT_INVALID" not in show.split("signature_def['sample']")[1]


def test_saved_model_cli_run(exported, background):
    background.result("run")
    mean, log_var = encodings(exported[0], CLI_IMAGES)
    np.testing.assert_allclose(np.load(background.folder / "mean.npy"), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        np.load(background.folder / "log_var.npy"), log_var, rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------- command line
def test_cli_exports_a_run_directory(tmp_path, capsys):
    from tf_infomax.training import CONFIG_FILE, MODEL_FILE, TrainConfig

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model = tiny_model("vae", seed=4)
    model.compile()
    model.save(run_dir / MODEL_FILE)
    config = TrainConfig.from_flat(model="vae", latent_dim=LATENT, limit=40)
    (run_dir / CONFIG_FILE).write_text(json.dumps(config.to_dict()))
    base = tmp_path / "encoder"

    args = ["export", str(run_dir), "--to", str(base)]
    assert cli.main(args) == 0
    assert cli.main(args) == 0
    assert existing_versions(base) == [1, 2]
    assert cli.main([*args, "--version", "2"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert cli.main([*args, "--version", "2", "--overwrite"]) == 0
    assert cli.main(["export", str(tmp_path / "missing"), "--to", str(base)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    meta = json.loads((base / "2" / "assets.extra" / "tf_infomax.json").read_text())
    assert meta["train_config"]["model"] == "vae" and meta["latent_dim"] == LATENT
    x = tiny_images(3)
    out = tf.saved_model.load(str(base / "2")).signatures["serving_default"](images=x)
    np.testing.assert_allclose(out["mean"], encodings(model, x)[0], rtol=1e-5, atol=1e-6)


def test_request_bodies_of_export_make_request(exported, server):
    """The bodies export/README.md tells users to build are answered alike in both formats."""
    spec = importlib.util.spec_from_file_location("make_request", ROOT / "export/make_request.py")
    make_request = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_request)
    model, _ = exported
    raw = make_request.raw_images(2, IMAGE_SHAPE)
    expected = encodings(model, raw / np.float32(255))[0]
    for signature in ("serving_default", "serving_uint8", "sample"):
        row = server.predict(make_request.build_body(raw, signature, "row", seed=3))
        col = server.predict(make_request.build_body(raw, signature, "columnar", seed=3))
        np.testing.assert_allclose([r["mean"] for r in row["predictions"]], expected, atol=1e-5)
        np.testing.assert_allclose(col["outputs"]["mean"], expected, atol=1e-5)
        if signature == "sample":
            np.testing.assert_allclose([r["z"] for r in row["predictions"]], col["outputs"]["z"])
