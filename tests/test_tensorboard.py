"""What a run shows in TensorBoard: pictures and histograms each epoch, the projector at the end."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_infomax.config import TrainConfig
from tf_infomax.runs import RunDir
from tf_infomax.summaries import CRITIC_TAGS, ImageSummaries
from tf_infomax.training import train

from conftest import (
    IMAGE_SHAPE,
    LATENT,
    decoded_shape,
    projector_files,
    read_events,
    tiny_images,
    tiny_model,
)

TINY = dict(
    dataset="sklearn_digits", limit=200, validation_limit=100, epochs=1, batch_size=50,
    latent_dim=4, decoder_layers=1, critic_units=(16, 8),
)  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> RunDir:
    out = tmp_path_factory.mktemp("tensorboard") / "run"
    train(TrainConfig.from_flat(**{**TINY, "epochs": 2}, projector_points=70), out, verbose=0)
    return RunDir(out)


def test_training_writes_pictures_and_histograms_every_epoch(run):
    events = read_events(run.summaries_dir)
    for tag in ("reconstructions", "prior_samples", "latent_traversal"):
        assert [step for step, *_ in events[tag]] == [0, 1], tag
    # 16 digits of 28 x 28 above their reconstructions, 1-pixel white gaps
    assert decoded_shape(events["reconstructions"][-1]) == (2 * 29 - 1, 16 * 29 - 1, 1)
    assert decoded_shape(events["prior_samples"][-1]) == (4 * 29 - 1, 4 * 29 - 1, 1)
    # the 4 latent units (5 most active, capped by the latent size) swept over 9 values
    assert decoded_shape(events["latent_traversal"][-1]) == (4 * 29 - 1, 9 * 29 - 1, 1)
    for tag in ("posterior_log_variance", *CRITIC_TAGS):
        step, buckets, plugin = events[tag][-1]
        assert plugin.plugin_name == "histograms" and step == 1, tag
        assert buckets.shape[1] == 3  # (left edge, right edge, count)
    # counts: every log-variance of the 16 codes, one critic score per pair
    assert events["posterior_log_variance"][-1][1][:, 2].sum() == 16 * 4
    assert events["critic_scores/marginal"][-1][1][:, 2].sum() == 16


def test_training_ends_with_the_projector_of_held_out_codes(run):
    config, codes, metadata = projector_files(run.projector_dir)
    (embedding,) = config.embeddings
    assert codes.shape == (70, 4) and list(embedding.tensor_shape) == [70, 4]
    assert metadata[0] == "index\tlabel" and len(metadata) - 1 == len(codes)
    labels = [int(row.split("\t")[1]) for row in metadata[1:]]
    assert set(labels) <= set(range(10)) and len(set(labels)) > 3
    assert list(embedding.sprite.single_image_dim) == [28, 28]
    sprite = tf.io.decode_png(tf.io.read_file(str(run.projector_dir / "sprite.png")))
    assert tuple(sprite.shape) == (9 * 28, 9 * 28, 1)  # 70 images on a 9 x 9 grid
    # the codes are the posterior means of the first 70 validation images
    first = np.asarray(run.model().encode(digits_test(70))[0])
    np.testing.assert_allclose(codes, first, rtol=1e-4, atol=1e-4)
    assert "projector" in read_events(run.projector_dir)  # so TensorBoard lists the folder


def digits_test(n: int) -> np.ndarray:
    from tf_infomax import data

    batch = next(iter(data.load("sklearn_digits", "test", batch_size=n, shuffle=False)))
    return np.asarray(batch[0])


def test_switched_off_there_are_no_pictures_and_no_projector(tmp_path):
    out = tmp_path / "run"
    config = TrainConfig.from_flat(
        **TINY, model="vae", tensorboard_images=False, projector_points=0
    )
    train(config, out, verbose=0)
    run = RunDir(out)
    assert not run.summaries_dir.exists() and not run.projector_dir.exists()
    assert (run.logs_dir / "train").is_dir()  # Keras' curves stay


def test_summaries_every_n_epochs_and_always_the_last(tmp_path):
    model = tiny_model("vae")
    model.compile()
    callback = ImageSummaries(tmp_path, tiny_images(6), every=2)
    model.fit(tiny_images(40), epochs=5, batch_size=20, verbose=0, callbacks=[callback])
    events = read_events(tmp_path)
    assert [step for step, *_ in events["reconstructions"]] == [1, 3, 4]
    assert not set(CRITIC_TAGS) & set(events)  # a VAE has no critic
    # 3 of the 3 latent units, 6 x 5 images
    height, width = IMAGE_SHAPE[:2]
    assert decoded_shape(events["latent_traversal"][0]) == (
        LATENT * (height + 1) - 1, 9 * (width + 1) - 1, 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("tensorboard_every", 0, "--tensorboard-every must be >= 1"),
        ("tensorboard_examples", 1, "--tensorboard-examples must be >= 2"),
        ("projector_points", -1, "--projector-points must be >= 0"),
    ],
)
def test_bad_tensorboard_options_are_refused_before_writing(tmp_path, option, value, message):
    with pytest.raises(ValueError, match=message):
        train(TrainConfig.from_flat(**TINY, **{option: value}), tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()
