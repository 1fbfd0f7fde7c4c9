"""A ``dir:`` source larger than the memory budget is decoded once to disk (issue 14)."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tf_infomax import data
from tf_infomax.data import disk_cache, image_folder, user_source

CLASSES = ("circle", "square")


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tf.io.write_file(str(path), tf.io.encode_png(image))


def images(n: int, seed: int, shape=(8, 8, 1)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


@pytest.fixture()
def folder(tmp_path) -> Path:
    """train/ and test/ with two classes of 8x8 grey PNGs."""
    root = tmp_path / "photos"
    for split, n in (("train", 23), ("test", 6)):
        for k, name in enumerate(CLASSES):
            for i, image in enumerate(images(n, seed=10 * k + len(split))):
                write_png(root / split / name / f"{i:02d}.png", image)
    return root


@pytest.fixture()
def fresh_sources(monkeypatch, tmp_path) -> Path:
    """No source read before; the disk cache in tmp_path/cache."""
    monkeypatch.setattr(user_source, "_CACHE", collections.OrderedDict())
    monkeypatch.setenv(disk_cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def batches(name: str, **kwargs) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in data.load(name, batch_size=8, **kwargs)]


def assert_same(a, b) -> None:
    assert len(a) == len(b) > 0
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_a_folder_over_the_budget_gives_the_batches_of_the_in_memory_cache(
    folder, fresh_sources, monkeypatch
):
    name = f"dir:{folder}"
    cases = {
        "shuffled, epoch 0": dict(split="train", epoch=0),
        "shuffled, epoch 1": dict(split="train", epoch=1, binarize=True),
        "held-out part": dict(split="train", shuffle=False, holdout=data.Holdout(0.2, 1, True)),
        "test, in order": dict(split="test"),
        "limited": dict(split="test", limit=5),
    }
    monkeypatch.setenv(disk_cache.BUDGET_ENV, "1G")
    in_memory = {case: batches(name, **kwargs) for case, kwargs in cases.items()}
    assert not fresh_sources.exists()

    monkeypatch.setattr(user_source, "_CACHE", collections.OrderedDict())
    monkeypatch.setenv(disk_cache.BUDGET_ENV, "0")
    for case, kwargs in cases.items():
        assert_same(batches(name, **kwargs), in_memory[case])
    (stored,) = fresh_sources.iterdir()
    assert (stored / disk_cache.MANIFEST).exists()
    assert sorted(p.name for p in stored.glob("*.npy")) == [
        "test.images.npy",
        "test.labels.npy",
        "train.images.npy",
        "train.labels.npy",
    ]
    source = data.open_source(name)
    assert "decoded to" in source.record["stored_as"] and set(source.disk_images) == {
        "train",
        "test",
    }

    # Decoded once: a new process (an empty source cache) reads the arrays, not the images.
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded the images again")

    monkeypatch.setattr(user_source, "_CACHE", collections.OrderedDict())
    monkeypatch.setattr(image_folder, "_decoded", no_decoding)
    assert_same(batches(name, split="train", epoch=0), in_memory["shuffled, epoch 0"])


def test_a_mixed_folder_on_disk_needs_channels_and_leaves_nothing_behind(
    tmp_path, fresh_sources, monkeypatch
):
    root = tmp_path / "mixed"
    write_png(root / "a.png", images(1, 0)[0])
    write_png(root / "b.png", images(1, 1, shape=(8, 8, 3))[0])
    monkeypatch.setenv(disk_cache.BUDGET_ENV, "0")
    with pytest.raises(ValueError, match=r"grey and RGB images are mixed.*--channels 3"):
        data.open_source(f"dir:{root}")
    assert not fresh_sources.exists() or not any(fresh_sources.iterdir())
    source = data.open_source(f"dir:{root}", data.SourceOptions(channels=3))
    assert source.spec.image_shape == (8, 8, 3) and source.spec.num_train == 2


def test_unreadable_files_on_disk_are_refused_or_skipped_as_in_memory(
    tmp_path, fresh_sources, monkeypatch
):
    root = tmp_path / "broken"
    for i, image in enumerate(images(4, 0)):
        write_png(root / f"{i}.png", image)
    (root / "2b.png").write_bytes(b"not a png")
    monkeypatch.setenv(disk_cache.BUDGET_ENV, "0")
    with pytest.raises(ValueError, match=r"1 of 5 files cannot be decoded.*2b.png"):
        data.open_source(f"dir:{root}")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable files \(2b.png\)"):
        source = data.open_source(f"dir:{root}", data.SourceOptions(skip_unreadable=True))
    assert source.spec.num_train == 4 and source.record["skipped_unreadable"]["count"] == 1
    x = next(iter(data.load(f"dir:{root}", "train", batch_size=4, skip_unreadable=True)))[0]
    assert x.shape == (4, 8, 8, 1)


def test_the_memory_budget_reads_units_and_refuses_garbage(monkeypatch):
    for value, expected in (("0", 0), ("500M", 500 * 2**20), ("2g", 2 * 2**30), ("1024", 1024)):
        monkeypatch.setenv(disk_cache.BUDGET_ENV, value)
        assert disk_cache.memory_budget() == expected
    monkeypatch.setenv(disk_cache.BUDGET_ENV, "lots")
    with pytest.raises(ValueError, match="TF_INFOMAX_MEMORY_BUDGET='lots'.*500M"):
        disk_cache.memory_budget()
    monkeypatch.delenv(disk_cache.BUDGET_ENV)
    assert 0 < disk_cache.memory_budget() <= disk_cache.available_memory()


def test_train_and_evaluate_a_folder_decoded_to_disk(folder, fresh_sources, monkeypatch, tmp_path):
    from tf_infomax.runs import RunDir
    from trainers.cli import main

    monkeypatch.setenv(disk_cache.BUDGET_ENV, "0")
    out = tmp_path / "run"
    tiny = ["--epochs", "1", "--latent-dim", "3", "--batch-size", "8", "--critic-units", "8"]
    assert main(["train", "--dataset", f"dir:{folder}", *tiny, "--out", str(out)]) == 0
    record = RunDir(out).data_record()
    assert "decoded to" in record["stored_as"] and record["num_images"] == {"train": 46, "test": 12}
    evaluate = ["--metrics", "kl", "active_units", "--batch-size", "6", "--no-figures"]
    assert main(["evaluate", str(out), *evaluate]) == 0
