"""`tf-infomax train` end to end on a tiny real dataset, and its errors."""

from __future__ import annotations

import json

import keras
import pytest

from tf_infomax.models import InfoMaxVAE
from trainers.cli import main

TINY = ["--dataset", "sklearn_digits", "--latent-dim", "3", "--limit", "300", "--batch-size", "50"]
TINY += ["--arch-option", "units=32", "--critic-units", "16", "8"]  # small networks: fast steps


def test_train_writes_a_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--model", "infomax-vae", *TINY, "--epochs", "2", "--out", str(out)])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "infomax-vae" and config["limit"] == 300
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1, 2]
    for key in ("loss", "reconstruction", "kl", "mi", "critic_loss", "val_loss"):
        assert len(history[key]) == 2 and history[key][-1] != 0.0, key
    model = keras.models.load_model(out / "model.keras")
    assert isinstance(model, InfoMaxVAE) and model.alpha == 10.0
    assert int(model.optimizer.iterations) == 2 * 300 // 50
    assert not (out / "backup").exists()
    assert "final:" in capsys.readouterr().out


def test_train_refuses_to_overwrite_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--model", "vae", *TINY, "--validation-limit", "0", "--out", str(out)]
    assert main(args) == 0
    assert main(args) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_train_resumes_an_interrupted_run(tmp_path):
    """A run cut off after epoch 1 continues at epoch 2 instead of starting again."""
    from tf_infomax.training import TrainConfig, train

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                raise KeyboardInterrupt

    config = TrainConfig.from_flat(
        model="vae",
        dataset="sklearn_digits",
        latent_dim=3,
        limit=300,
        batch_size=50,
        epochs=2,
        validation_limit=0,
    )
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path, callbacks=[Interrupt()], verbose=0)
    assert (tmp_path / "backup").exists() and not (tmp_path / "model.keras").exists()
    model, history = train(config, tmp_path, verbose=0)
    assert history["epoch"] == [1, 2]
    assert int(model.optimizer.iterations) == 2 * 300 // 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "infomax-vae", "--batch-size", "1"], "Batch size 1 is too small"),
        (["--model", "infomax-vae", "--alpha", "-1"], "alpha must be >= 0"),
        (["--model", "vae", "--limit", "20", "--batch-size", "50"], "fewer than one batch"),
        (["--model", "vae", "--arch-option", "filters"], "expected KEY=VALUE"),
        (["--model", "vae", "--arch-option", "width=3"], "Bad options ['width']"),
    ],
)
def test_bad_options_give_a_clear_error(tmp_path, capsys, args, message):
    base = ["--dataset", "sklearn_digits", "--latent-dim", "3", "--limit", "100"]
    assert main(["train", *base, *args, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err


def test_train_passes_architecture_options_to_the_networks(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "vae", "--arch", "pixelvae", "--arch-option", "filters=4"]
    args += ["--decoder-layers", "2", "--latent-dim", "2", "--binarize", "--limit", "64"]
    args += ["--batch-size", "32", "--validation-limit", "0", "--out", str(out)]
    assert main(args) == 0
    assert json.loads((out / "config.json").read_text())["arch_options"] == {"filters": 4}
    model = keras.models.load_model(out / "model.keras")
    layers = model.decoder._flatten_layers()
    widths = {layer.filters for layer in layers if hasattr(layer, "filters")}
    assert 4 in widths and 64 not in widths  # the PixelCNN's default width is 64


def test_unknown_names_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--model", "vae-gan", "--out", "x"])
    assert "invalid choice: 'vae-gan'" in capsys.readouterr().err


def test_diverged_training_stops_with_a_clear_error_and_saves_nothing(tmp_path):
    from tf_infomax.training import TrainConfig, TrainingDivergedError, train

    config = TrainConfig.from_flat(
        model="vae",
        dataset="sklearn_digits",
        latent_dim=3,
        limit=300,
        batch_size=50,
        epochs=2,
        validation_limit=0,
        learning_rate=1e30,
    )
    with pytest.raises(TrainingDivergedError, match="loss became NaN/inf at epoch 1"):
        train(config, tmp_path, verbose=0)
    assert not (tmp_path / "model.keras").exists()
