"""Tests of tf_infomax.data: offline, with TFDS mocks, the local Fashion-MNIST IDX files and
scikit-learn's digits. No test touches the network: downloads are disabled by default, and the
mocked ones are no-ops."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import shutil
import struct

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from tf_infomax import data
from tf_infomax.data import fashion_mnist_local, pipeline, sources
from tf_infomax.data.__main__ import main as cli_main
from tf_infomax.data.idx import read_idx

IDX_DIR = fashion_mnist_local.DEFAULT_SOURCE_DIR
HAVE_IDX = not fashion_mnist_local.missing_files(IDX_DIR)
needs_idx = pytest.mark.skipif(not HAVE_IDX, reason=f"dataset-fashion-mnist not in {IDX_DIR}")
TFDS_NAMES = [n for n in data.DATASET_NAMES if data.dataset_info(n).tfds_name]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Forbid downloads and fail on any reachability probe."""
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    monkeypatch.delenv(fashion_mnist_local.SOURCE_DIR_ENV, raising=False)

    def no_probe(url, timeout=0):
        raise AssertionError(f"test tried to reach {url}")

    monkeypatch.setattr(sources, "probe", no_probe)


@pytest.fixture(scope="module")
def fashion_dir(tmp_path_factory):
    """A TFDS data dir where the first `load` prepared fashion_mnist from the IDX files."""
    if not HAVE_IDX:
        pytest.skip(f"dataset-fashion-mnist not in {IDX_DIR}")
    data_dir = tmp_path_factory.mktemp("tfds")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(data.OFFLINE_ENV, "1")
        mp.delenv(fashion_mnist_local.SOURCE_DIR_ENV, raising=False)
        data.load("fashion_mnist", "test", batch_size=10, data_dir=data_dir)
    return data_dir


def batches(ds):
    return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy() for b in ds]


def digest(image: np.ndarray, label: int) -> str:
    return hashlib.sha1(image.astype(np.uint8).tobytes() + bytes([label])).hexdigest()


# --- registry -----------------------------------------------------------------------------


def test_registry_names_and_specs():
    assert set(data.DATASET_NAMES) == {
        "mnist",
        "binarized_mnist",
        "fashion_mnist",
        "cifar10",
        "cifar100",
        "celeb_a",
        "sklearn_digits",
    }
    spec = data.dataset_info("Fashion-MNIST")
    assert (spec.name, spec.image_shape, spec.num_classes) == ("fashion_mnist", (28, 28, 1), 10)
    assert (spec.num_train, spec.num_test, spec.binary) == (60_000, 10_000, False)
    assert data.dataset_info("celeb_a").image_shape == (64, 64, 3)
    assert data.dataset_info("binarized_mnist").binary
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.num_train = 1
    with pytest.raises(ValueError, match="sklearn_digits"):
        data.dataset_info("imagenet")


@pytest.mark.parametrize("name", TFDS_NAMES)
def test_registry_agrees_with_tfds_features(name):
    spec = data.dataset_info(name)
    features = tfds.builder(spec.tfds_name).info.features  # from code; needs no data
    if name != "celeb_a":  # celeb_a is cropped and resized
        assert tuple(features["image"].shape) == spec.image_shape
    assert features["image"].shape[-1] == spec.image_shape[-1]
    if spec.has_labels:
        assert features["label"].num_classes == spec.num_classes
    else:
        assert "label" not in features


# --- every TFDS dataset, mocked -----------------------------------------------------------


@pytest.mark.parametrize("name", TFDS_NAMES)
def test_mocked_pipeline(name, tmp_path, monkeypatch):
    monkeypatch.setenv(fashion_mnist_local.SOURCE_DIR_ENV, str(tmp_path / "no-idx"))
    spec = data.dataset_info(name)
    with tfds.testing.mock_data(num_examples=10):
        train = batches(data.load(name, batch_size=4, data_dir=tmp_path, download=True))
        test = batches(
            data.load(name, "test", batch_size=4, limit=6, data_dir=tmp_path, download=True)
        )
        binar = batches(
            data.load(name, batch_size=5, binarize=True, data_dir=tmp_path, download=True)
        )
    assert [x.shape for x, _ in train] == [(4, *spec.image_shape)] * 2  # remainder dropped
    assert [x.shape[0] for x, _ in test] == [4, 2]  # limit 6, remainder kept
    for x, y in train + test:
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() >= 0.0 and x.max() <= 1.0
        if spec.has_labels:
            assert ((y >= 0) & (y < spec.num_classes)).all()
        else:
            assert (y == -1).all()
    all_x = np.concatenate([x for x, _ in train])
    if spec.binary:
        assert set(np.unique(all_x)) <= {0.0, 1.0}
    else:  # uniform random mock pixels in 0..255: scaled by 1/255, not clipped
        assert 0.4 < all_x.mean() < 0.6 and len(np.unique(all_x)) > 50
        if name != "celeb_a":  # celeb_a's resize smooths the noise
            assert all_x.max() > 0.95
            np.testing.assert_allclose(all_x * 255, np.round(all_x * 255), atol=1e-4)
    assert set(np.unique(np.concatenate([x for x, _ in binar]))) == {0.0, 1.0}


def test_options_shard_by_data():
    ds = data.load("sklearn_digits", batch_size=8)
    policy = ds.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA


def test_center_crop_resize_takes_the_centre():
    image = np.full((218, 178, 3), 255, np.uint8)
    top, left = (218 - 148) // 2, (178 - 148) // 2
    image[top : top + 148, left : left + 148] = 7
    out = pipeline.center_crop_resize(tf.constant(image), 148, 64).numpy()
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    assert (out == 7).all()
    image[top, left + 70] = 255  # the crop's first row is inside
    assert pipeline.center_crop_resize(tf.constant(image), 148, 64).numpy().max() > 7


# --- sklearn_digits: determinism, limit, remainder, binarization ---------------------------


def test_sklearn_digits_images_and_labels():
    digits = load_digits()
    (x, y), *_ = batches(data.load("sklearn_digits", "test", batch_size=297))
    assert x.shape == (297, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(y, digits.target[1500:])  # test split: not shuffled
    np.testing.assert_allclose(x[:, 2:26:3, 2:26:3, 0] * 16, digits.images[1500:])
    assert (x[:, :2] == 0).all() and (x[:, 26:] == 0).all()  # blank border


def test_seeded_shuffle_is_deterministic_and_reshuffles():
    def two_epochs(seed):
        ds = data.load("sklearn_digits", batch_size=100, seed=seed)
        return [np.concatenate([y for _, y in batches(ds)]) for _ in range(2)]

    first, second = two_epochs(5), two_epochs(5)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])  # new order each epoch
    assert not np.array_equal(first[0], two_epochs(6)[0])
    assert not np.array_equal(first[0], load_digits().target[: len(first[0])])  # shuffled


def test_each_epoch_is_a_function_of_seed_and_epoch_so_resuming_repeats_nothing():
    def labels(ds):
        return np.concatenate([y for _, y in batches(ds)])

    uninterrupted = data.load("sklearn_digits", batch_size=100, seed=3)
    epochs = [labels(uninterrupted) for _ in range(3)]
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    # A fresh pipeline (as in a new process) set to epoch 2 gives the third epoch's batches.
    np.testing.assert_array_equal(
        labels(data.load("sklearn_digits", batch_size=100, seed=3, epoch=2)), epochs[2]
    )
    epoch = data.DataEpoch()
    fresh = data.load("sklearn_digits", batch_size=100, seed=3, epoch=epoch)
    np.testing.assert_array_equal(labels(fresh), epochs[0])
    epoch.on_epoch_begin(2)  # what fit does when BackupAndRestore resumes at epoch 2
    np.testing.assert_array_equal(labels(fresh), epochs[2])
    np.testing.assert_array_equal(labels(fresh), epochs[2])  # read, not advanced

    # Binarization noise too, and the passes of a repeated pipeline continue the epochs.
    def images(ds):
        return np.concatenate([x for x, _ in batches(ds)])

    one_run = data.load("sklearn_digits", batch_size=100, seed=3, binarize=True)
    third = [images(one_run) for _ in range(3)][2]
    fresh = data.load("sklearn_digits", batch_size=100, seed=3, binarize=True, epoch=2)
    np.testing.assert_array_equal(images(fresh), third)
    repeated = data.load("sklearn_digits", batch_size=100, seed=3, epoch=1, repeat=True)
    np.testing.assert_array_equal(
        np.concatenate([y for _, y in batches(repeated.take(30))]), np.concatenate(epochs[1:])
    )
    with pytest.raises(ValueError, match="epoch must be a non-negative int"):
        data.load("sklearn_digits", batch_size=100, epoch=-1)


def test_fit_resumed_at_an_epoch_trains_on_that_epochs_batches():
    """Keras fit from initial_epoch=2 (as BackupAndRestore resumes) sees epoch 2's batches."""
    import keras

    class BatchLosses(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))

    def run(initial_epoch):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
        )
        model.compile(keras.optimizers.SGD(0.0), "mse")  # fixed weights: loss = f(batch)
        epoch, record = data.DataEpoch(), BatchLosses()
        train = data.load("sklearn_digits", batch_size=500, seed=1, epoch=epoch)
        model.fit(
            train, epochs=3, initial_epoch=initial_epoch, verbose=0, callbacks=[epoch, record]
        )
        return record.losses

    uninterrupted = run(0)
    assert len(uninterrupted) == 9 and len(set(uninterrupted[::3])) == 3  # orders differ
    np.testing.assert_allclose(run(2), uninterrupted[6:], rtol=1e-6)


def test_limit_takes_the_first_examples():
    target = load_digits().target
    kept = batches(data.load("sklearn_digits", batch_size=7, limit=20, shuffle=False))
    assert [y.shape[0] for _, y in kept] == [7, 7]  # train drops the remainder by default
    np.testing.assert_array_equal(np.concatenate([y for _, y in kept]), target[:14])
    ds = data.load("sklearn_digits", batch_size=7, limit=20, drop_remainder=False, seed=1)
    labels = np.concatenate([y for _, y in batches(ds)])
    assert sorted(labels) == sorted(target[:20]) and list(labels) != list(target[:20])


def test_drop_remainder_defaults():
    train = batches(data.load("sklearn_digits", batch_size=64))
    test = batches(data.load("sklearn_digits", "test", batch_size=64))
    assert [x.shape[0] for x, _ in train] == [64] * (1500 // 64)
    assert [x.shape[0] for x, _ in test] == [64] * 4 + [297 - 256]
    kept = batches(data.load("sklearn_digits", batch_size=64, drop_remainder=False))
    assert sum(x.shape[0] for x, _ in kept) == 1500


def test_dynamic_binarization():
    def epochs(seed):
        ds = data.load("sklearn_digits", batch_size=100, shuffle=False, binarize=True, seed=seed)
        return [np.concatenate(batches(ds.map(lambda x, y: x))) for _ in range(2)]

    gray = data.load("sklearn_digits", batch_size=100, shuffle=False, include_labels=False)
    gray = np.concatenate(batches(gray))
    a, b = epochs(0), epochs(0)
    assert set(np.unique(a[0])) == {0.0, 1.0}
    np.testing.assert_array_equal(a[0], b[0])  # seeded
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])  # resampled every epoch
    assert not np.array_equal(a[0], epochs(1)[0])
    assert abs(a[0].mean() - gray.mean()) < 0.01  # Bernoulli of the intensities
    assert (a[0][gray == 0] == 0).all() and (a[0][gray == 1] == 1).all()


def test_images_only_and_repeat():
    ds = data.load("sklearn_digits", batch_size=10, include_labels=False, repeat=True)
    assert isinstance(ds.element_spec, tf.TensorSpec)
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    assert next(iter(ds)).shape == (10, 28, 28, 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="splits"):
        data.load("sklearn_digits", "validation", batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        data.load("sklearn_digits", batch_size=0)
    with pytest.raises(ValueError, match="limit"):
        data.load("sklearn_digits", batch_size=4, limit=0)


# --- Fashion-MNIST from the local IDX files -----------------------------------------------


def raw_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name, _ = fashion_mnist_local.FILES[split]
    with gzip.open(os.path.join(IDX_DIR, images_name)) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(IDX_DIR, labels_name)) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, labels


@needs_idx
def test_local_fashion_mnist_is_standard_tfds(fashion_dir):
    builder = tfds.builder("fashion_mnist", data_dir=fashion_dir)
    assert builder.is_prepared()
    assert builder.info.splits["train"].num_examples == 60_000
    assert builder.info.splits["test"].num_examples == 10_000
    ds = tfds.load("fashion_mnist", split="test", data_dir=fashion_dir, download=False)
    assert ds.element_spec["image"].shape == (28, 28, 1)
    assert data.prepare_fashion_mnist_offline(data_dir=fashion_dir) == (
        fashion_dir / "fashion_mnist" / str(builder.version)
    )


@needs_idx
def test_local_fashion_mnist_matches_idx_files(fashion_dir):
    ds = data.load("fashion_mnist", "test", batch_size=2000, data_dir=fashion_dir)
    got = [
        digest(np.round(x[i, ..., 0] * 255), int(y[i]))
        for x, y in batches(ds)
        for i in range(len(y))
    ]
    images, labels = raw_split("test")
    want = [digest(image, int(label)) for image, label in zip(images, labels, strict=True)]
    assert len(got) == 10_000 and sorted(got) == sorted(want)
    train = data.load("fashion_mnist", batch_size=500, limit=1000, data_dir=fashion_dir)
    train_images, train_labels = raw_split("train")
    known = {digest(im, int(lab)) for im, lab in zip(train_images, train_labels, strict=True)}
    for x, y in batches(train):
        assert {digest(np.round(x[i, ..., 0] * 255), int(y[i])) for i in range(len(y))} <= known


def test_missing_fashion_mnist_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(fashion_mnist_local.SOURCE_DIR_ENV, str(empty))
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load("fashion_mnist", batch_size=10, data_dir=tmp_path / "tfds")
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert "Dataset 'fashion_mnist' is not available" in message
    assert f"{tmp_path / 'tfds'}/fashion_mnist/3.0.1 (not found)" in message
    assert f"Debian IDX files: {empty} (missing train-images-idx3-ubyte.gz" in message
    assert "\n  apt-get install -y dataset-fashion-mnist\n" in message
    assert "TF_INFOMAX_OFFLINE=1" in message
    with pytest.raises(data.DatasetNotFoundError, match="apt-get install -y dataset-fashion"):
        data.prepare_fashion_mnist_offline(empty, tmp_path / "tfds")


def test_missing_dataset_error_names_the_fix(tmp_path, monkeypatch):
    with pytest.raises(data.DatasetNotFoundError) as caught:
        data.load("cifar10", batch_size=10, data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert "Dataset 'cifar10' is not available" in message
    assert f"{tmp_path}/cifar10/3.0.2 (not found)" in message
    assert "download=False" in message
    assert f"\n  python -m tf_infomax.data prepare cifar10 --data_dir {tmp_path}\n" in message

    monkeypatch.delenv(data.OFFLINE_ENV)
    monkeypatch.setattr(sources, "probe", lambda url, timeout=0: "example.org:443 is unreachable")
    with pytest.raises(data.DatasetNotFoundError, match="not attempted: example.org:443"):
        data.load("mnist", batch_size=10, data_dir=tmp_path)


def test_failed_download_is_reported(tmp_path, monkeypatch):
    def fail(self, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", fail)
    with pytest.raises(data.DatasetNotFoundError, match="failed: ConnectionError") as caught:
        data.load("mnist", batch_size=10, data_dir=tmp_path, download=True)
    assert isinstance(caught.value.__cause__, ConnectionError)


def test_cli(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["--data_dir", str(tmp_path), "--source_dir", str(empty)]
    assert cli_main(["prepare", "fashion_mnist", *args]) == 1
    assert "apt-get install -y dataset-fashion-mnist" in capsys.readouterr().err
    assert cli_main(["prepare", "sklearn_digits"]) == 0
    assert cli_main(["info", "--data_dir", str(tmp_path)]) == 0
    assert f"not prepared: {tmp_path}/mnist/3.0.1" in capsys.readouterr().out


# --- corrupt or truncated IDX files -------------------------------------------------------


def write_idx(path, header: bytes, payload: bytes) -> None:
    with gzip.open(path, "wb") as f:
        f.write(header + payload)


def test_idx_reader_validates(tmp_path):
    good = tmp_path / "good.gz"
    write_idx(good, struct.pack(">IIII", 0x803, 2, 3, 4), bytes(range(24)))
    np.testing.assert_array_equal(read_idx(good, ndim=3), np.arange(24).reshape(2, 3, 4))

    wrong_magic = tmp_path / "magic.gz"
    write_idx(wrong_magic, struct.pack(">II", 0x801, 24), bytes(24))
    with pytest.raises(data.IDXFormatError, match="magic number 0x00000801, expected 0x00000803"):
        read_idx(wrong_magic, ndim=3)

    short = tmp_path / "short.gz"
    write_idx(short, struct.pack(">IIII", 0x803, 2, 3, 4), bytes(23))
    with pytest.raises(data.IDXFormatError, match=r"shape \(2, 3, 4\) \(24 bytes\).* 23 bytes"):
        read_idx(short, ndim=3)

    padded = tmp_path / "padded.gz"
    write_idx(padded, struct.pack(">IIII", 0x803, 2, 3, 4), bytes(25))
    with pytest.raises(data.IDXFormatError, match="holds 25 bytes of data"):
        read_idx(padded, ndim=3)

    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(good.read_bytes()[:-12])
    with pytest.raises(data.IDXFormatError, match="corrupt or truncated"):
        read_idx(truncated, ndim=3)

    garbage = tmp_path / "garbage.gz"
    garbage.write_bytes(b"\x1f\x8b" + bytes(40))
    with pytest.raises(data.IDXFormatError, match=str(garbage)):
        read_idx(garbage, ndim=3)


@needs_idx
@pytest.mark.parametrize("damage", ["truncate", "wrong_count"])
def test_corrupt_local_fashion_mnist(tmp_path, damage):
    source = tmp_path / "idx"
    source.mkdir()
    for name in os.listdir(IDX_DIR):
        os.symlink(os.path.join(IDX_DIR, name), source / name)
    labels = source / "train-labels-idx1-ubyte.gz"
    labels.unlink()
    if damage == "truncate":
        with open(os.path.join(IDX_DIR, labels.name), "rb") as f:
            blob = f.read()
        labels.write_bytes(blob[: len(blob) // 2])
        expected = "corrupt or truncated"
    else:
        write_idx(labels, struct.pack(">II", 0x801, 5), bytes(5))
        expected = "holds 5 labels; Fashion-MNIST's train split has 60000"
    data_dir = tmp_path / "tfds"
    with pytest.raises(data.IDXFormatError, match=expected) as caught:
        data.prepare_fashion_mnist_offline(source, data_dir)
    assert str(labels) in str(caught.value)
    assert not tfds.builder("fashion_mnist", data_dir=data_dir).is_prepared()
    assert not (data_dir / "fashion_mnist" / "3.0.1").exists()
    shutil.rmtree(source)
