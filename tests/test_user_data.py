"""Your own data: dir:, npz: and tfds: sources trained, evaluated and exported end to end, and
every bad input refused with its fix before anything is written to --out. Generated data only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tf_infomax import data
from tf_infomax.config import config_from_args
from tf_infomax.runs import RunDir
from tf_infomax.serving import signatures
from tf_infomax.training import train
from trainers.cli import build_parser, main

CLASSES = ("circle", "square")
PER_CLASS = 60
SHAPE = (8, 8, 1)
# Tiny settings: 1 epoch, small critics and probes.
TRAIN = ["--epochs", "1", "--latent-dim", "3", "--batch-size", "16", "--critic-units", "8"]
EVALUATE = [
    *("--metrics", "active_units", "probe_accuracy", "--limit", "0", "--train-limit", "0"),
    *("--batch-size", "50", "--probe-units", "8", "--probe-max-epochs", "2", "--no-figures"),
]


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(image))


def class_images(k: int, n: int, seed: int, shape=SHAPE) -> np.ndarray:
    """Class k: noise around grey level 40 + 150 k, so a probe can tell the classes apart."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, *shape)) * 60 + 40 + 150 * k).astype(np.uint8)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """PATH/<class>/<i>.png: two classes of 60 8x8 grey PNGs, and a notes file."""
    root = tmp_path_factory.mktemp("photos")
    for k, name in enumerate(CLASSES):
        for i, image in enumerate(class_images(k, PER_CLASS, seed=k)):
            write_png(root / name / f"{i:03d}.png", image)
    (root / "README.txt").write_text("not an image")
    return root


def read_folder_images(root: Path, n: int) -> np.ndarray:
    paths = sorted(root.glob("*/*.png"))[:n]
    return np.stack([tf.io.decode_png(tf.io.read_file(str(p))).numpy() for p in paths]) / 255.0


@pytest.mark.parametrize("arch", ["fc", "conv"])
def test_a_class_folder_trains_evaluates_and_exports(tree, tmp_path, arch, capsys):
    out, base = tmp_path / "run", tmp_path / "served"
    source = f"dir:{tree}"
    train = ["train", "--dataset", source, "--arch", arch, "--validation-split", "0.2"]
    assert main([*train, *TRAIN, "--out", str(out)]) == 0

    record = RunDir(out).data_record()
    assert record["dataset"] == source and record["class_names"] == list(CLASSES)
    assert record["num_images"] == {"train": 2 * PER_CLASS} and record["image_shape"] == [8, 8, 1]
    assert record["splits_used"]["validation"]["num_images"] == 24  # 0.2 of 120, by seed
    assert record["fingerprint"].startswith("sha256:")
    assert record["ignored_files"]["files"] == ["README.txt"]

    # evaluate and export from another working directory, without repeating any option
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["evaluate", str(out), *EVALUATE]) == 0
        assert main(["export", str(out), "--to", str(base)]) == 0
    finally:
        os.chdir(cwd)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["probe_accuracy"]["split"] == "validation"  # the held-out 24 images
    assert metrics["probe_accuracy"]["num_examples"] == 24
    assert metrics["probe_accuracy"]["num_train"] == 96
    assert set(metrics["probe_accuracy"]["value"]) == {"linear", "mlp"}
    assert metrics["probe_accuracy"]["value"]["linear"] is not None
    assert metrics["evaluation"]["data"]["fingerprint"] == record["fingerprint"]

    images = read_folder_images(tree, 5).astype(np.float32)
    served = tf.saved_model.load(str(base / "1")).signatures[signatures.DEFAULT]
    got = served(**{signatures.IMAGES: tf.constant(images)})
    mean, _ = RunDir(out).model().encode(images)
    np.testing.assert_allclose(got[signatures.MEAN].numpy(), mean.numpy(), rtol=1e-4, atol=1e-5)
    info = json.loads((base / "1" / "assets.extra" / "tf_infomax.json").read_text())
    assert info["data"]["fingerprint"] == record["fingerprint"]


def test_npz_round_trip_and_a_changed_file_is_reported(tmp_path):
    x = np.random.default_rng(1).random((90, 6, 5)).astype(np.float32)
    y = np.arange(90) % 3
    path = tmp_path / "arrays.npz"
    np.savez(path, x=x, y=y)
    images, labels = next(iter(data.load(f"npz:{path}", "train", batch_size=90, shuffle=False)))
    np.testing.assert_array_equal(images.numpy(), x[..., None])  # float in [0, 1] kept as is
    np.testing.assert_array_equal(labels.numpy(), y)
    assert data.dataset_info(f"npz:{path}").num_classes == 3

    out = tmp_path / "run"
    args = ["train", "--dataset", f"npz:{path}", "--model", "vae", *TRAIN, "--out", str(out)]
    args += ["--validation-split", "0.2", "--epochs", "2"]

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # cut off after epoch 1
        train(config_from_args(build_parser().parse_args(args)), out, callbacks=[Interrupt()])
    record = RunDir(out).data_record()
    assert record["kind"] == "npz" and record["image_shape"] == [6, 5, 1]
    assert data.check_record(record) is None
    np.savez(path, x=x[:80], y=y[:80])  # the file changes before the run is resumed
    with pytest.warns(UserWarning, match="whose files changed since the run started"):
        assert main(args) == 0
    assert RunDir(out).data_record()["num_images"] == {"train": 80}
    np.savez(path, x=x[:70], y=y[:70])  # ... and again after training
    assert "changed since training" in data.check_record(RunDir(out).data_record())
    with pytest.warns(UserWarning, match="changed since training"):
        assert main(["export", str(out), "--to", str(tmp_path / "served")]) == 0


def test_a_npy_without_labels_evaluates_with_the_probes_skipped(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, (np.random.default_rng(2).random((60, 7, 7, 3)) * 255).astype(np.uint8))
    out = tmp_path / "run"
    train = ["train", "--dataset", f"npz:{path}", "--model", "vae", "--validation-limit", "0"]
    assert main([*train, *TRAIN, "--out", str(out)]) == 0
    assert main(["evaluate", str(out), *EVALUATE, "--split", "train"]) == 0
    probes = json.loads((out / "metrics.json").read_text())["probe_accuracy"]
    assert probes["value"] is None and "no labels" in probes["note"]


def test_train_and_test_subfolders_are_the_splits_and_images_are_resized(tmp_path):
    for split, n in (("train", 12), ("test", 5)):
        for k, name in enumerate(CLASSES):
            for i, image in enumerate(class_images(k, n, seed=k, shape=(10, 12, 3))):
                write_png(tmp_path / split / name / f"{i}.png", image)
    spec = data.dataset_info(f"dir:{tmp_path}", image_size=(8, 6), channels=1)
    assert spec.splits == ("train", "test") and (spec.num_train, spec.num_test) == (24, 10)
    assert spec.image_shape == (8, 6, 1) and spec.num_classes == 2
    x, y = next(iter(data.load(f"dir:{tmp_path}", "test", batch_size=10, image_size=(8, 6))))
    assert x.shape == (10, 8, 6, 3) and sorted(y.numpy()) == [0] * 5 + [1] * 5


def test_a_grey_and_rgb_mix_is_converted_to_rgb_with_a_warning(tmp_path):
    write_png(tmp_path / "grey.png", class_images(0, 1, 0)[0])
    write_png(tmp_path / "rgb.png", class_images(1, 1, 0, shape=(8, 8, 3))[0])
    with pytest.warns(UserWarning, match="1 grey and 1 RGB images; the grey ones were converted"):
        spec = data.dataset_info(f"dir:{tmp_path}")
    assert spec.image_shape == (8, 8, 3) and spec.num_classes is None
    assert data.dataset_info(f"dir:{tmp_path}", channels=1).image_shape == (8, 8, 1)


def test_skip_unreadable_leaves_out_and_counts_the_broken_files(tmp_path):
    for i, image in enumerate(class_images(0, 4, 0)):
        write_png(tmp_path / f"{i}.png", image)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable files \(broken.png\)"):
        source = data.open_source(f"dir:{tmp_path}", data.SourceOptions(skip_unreadable=True))
    assert source.spec.num_train == 4
    assert source.record["skipped_unreadable"] == {"count": 1, "files": ["broken.png"]}


def test_holdout_parts_are_disjoint_complete_and_fixed_by_seed():
    n = 50
    held, rest = data.Holdout(0.1, 3, held=True), data.Holdout(0.1, 3, held=False)
    assert held.mask(n).sum() == 5 and not (held.mask(n) & rest.mask(n)).any()
    assert (held.mask(n) | rest.mask(n)).all()
    assert (data.Holdout(0.1, 3, True).mask(n) == held.mask(n)).all()
    assert (data.Holdout(0.1, 4, True).mask(n) != held.mask(n)).any()
    assert data.holdout_fraction("test") is None and data.holdout_fraction(0.25) == 0.25
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        data.holdout_fraction("1.5")


def test_a_tfds_image_dataset_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    with tfds.testing.mock_data(num_examples=12):
        spec = data.dataset_info("tfds:mnist", data_dir=str(tmp_path), download=True)
        ds = data.load(
            "tfds:mnist",
            batch_size=4,
            image_size=(16, 16),
            channels=3,
            data_dir=str(tmp_path),
            download=True,
        )
        batches = list(ds)
    assert spec.image_shape == (28, 28, 1) and spec.num_classes == 10
    assert [tuple(x.shape) for x, _ in batches] == [(4, 16, 16, 3)] * 3
    assert all(((y >= 0) & (y < 10)).numpy().all() for _, y in batches)


def test_a_tfds_dataset_that_is_not_prepared_names_the_command_that_prepares_it(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.dataset_info("tfds:mnist", data_dir=str(tmp_path), download=False)
    assert f"tfds.builder('mnist', data_dir='{tmp_path}').download_and_prepare()" in str(
        error.value
    )


# --- bad input: each refused with the file and the fix, --out left untouched ----------------


def _npz(path: Path, **arrays) -> str:
    np.savez(path, **arrays)
    return f"npz:{path}"


def _mixed_sizes(root: Path) -> str:
    write_png(root / "small.png", class_images(0, 1, 0)[0])
    write_png(root / "big.png", class_images(0, 1, 0, shape=(9, 9, 1))[0])
    return f"dir:{root}"


def _corrupt(root: Path) -> str:
    for i, image in enumerate(class_images(0, 3, 0)):
        write_png(root / f"{i}.png", image)
    (root / "broken.png").write_bytes(b"\x89PNG but not really")
    return f"dir:{root}"


def _few(root: Path) -> str:
    for i, image in enumerate(class_images(0, 5, 0)):
        write_png(root / f"{i}.png", image)
    return f"dir:{root}"


def _empty(root: Path) -> str:
    (root / "notes.txt").write_text("x")
    return f"dir:{root}"


BAD = {
    "empty folder": (_empty, "holds no PNG, JPEG, BMP or GIF images (only 1 other files: notes"),
    "mixed sizes": (_mixed_sizes, "9x9 (1 images, e.g. big.png); 8x8 (1 images, e.g. small.png)"),
    "corrupt file": (_corrupt, "1 of 4 files cannot be decoded as images (corrupt or not really "),
    "too few images": (_few, "has 5 training images, fewer than one batch of 16; lower --batch"),
    "npz without x": (
        lambda d: _npz(d / "a.npz", images=np.zeros((4, 2, 2))),
        "no array named 'x'",
    ),
    "npz with NaN": (
        lambda d: _npz(d / "a.npz", x=np.full((4, 2, 2), np.nan)),
        "contains NaN or inf (first in image 0); clean the images",
    ),
    "npz of floats in 0-255": (
        lambda d: _npz(d / "a.npz", x=np.full((4, 2, 2), 200.0)),
        "float images must be in [0, 1]. They look like 0-255 values: save x / 255",
    ),
    "npz of ints above 255": (
        lambda d: _npz(d / "a.npz", x=np.full((4, 2, 2), 300)),
        "values range over [300, 300]; integer images must be 0-255",
    ),
    "unknown source kind": (lambda d: "folder:pics", "or dir:PATH (a folder of PNG/JPEG/BMP/GIF"),
    "missing folder": (lambda d: f"dir:{d}/nowhere", "no such folder"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_before_anything_is_written(tmp_path, capsys, case):
    make, message = BAD[case]
    (tmp_path / "in").mkdir()
    source, out = make(tmp_path / "in"), tmp_path / "run"
    assert main(["train", "--dataset", source, *TRAIN, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    if source.startswith(("dir:", "npz:")) and case != "unknown source kind":
        assert source.split(":", 1)[1].split("/")[-1] in err  # names the file or folder
    assert not out.exists()


def test_a_folder_without_test_split_asks_for_a_held_out_fraction(tree, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", f"dir:{tree}", *TRAIN, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has splits train; got 'test'. Hold out part of the training images with " in err
    assert "--validation-split 0.1" in err and not out.exists()


def test_an_architecture_of_one_size_suggests_image_size(tree, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--dataset", f"dir:{tree}", "--arch", "cifar", *TRAIN, "--out", str(out)]
    assert main([*args, "--validation-split", "0.2"]) == 2
    err = capsys.readouterr().err
    assert "takes 32 x 32 images only" in err and "--image-size 32 32" in err
    assert not out.exists()


def test_the_new_data_options_are_flags_and_config_fields():
    from tf_infomax.config import TrainConfig

    args = build_parser().parse_args(
        ["train", "--dataset", "dir:x", "--image-size", "16", "12", "--channels", "3"]
        + ["--skip-unreadable", "--validation-split", "0.1", "--out", "o"]
    )
    config = config_from_args(args)
    assert (config.data.image_size, config.data.channels) == ((16, 12), 3)
    assert config.data.skip_unreadable and config.data.validation_split == "0.1"
    stored = TrainConfig.from_dict(json.loads(json.dumps(config.flat())))
    assert stored == config
    assert TrainConfig.from_flat(validation_split=0.1).data.validation_split == "0.1"
