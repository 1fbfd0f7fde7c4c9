"""Progress of long work: plain periodic lines off a terminal, a bar on one, stage times kept."""

from __future__ import annotations

import io
import json
import re

import pytest
import tensorflow as tf

from tf_infomax.config import TrainConfig
from tf_infomax.metrics import EvaluationConfig, evaluate_model
from tf_infomax.progress import Progress, Reporter
from tf_infomax.training import train
from trainers.cli import main

from conftest import projector_files, tiny_images, tiny_model


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_progress_is_plain_lines_with_rate_and_eta():
    stream = io.StringIO()
    reporter = Reporter("auto", interval=0, stream=stream)
    assert reporter.mode == "lines"
    with reporter.progress("[2/5] log_likelihood", total=40, unit="example") as progress:
        for _ in range(4):
            progress.update(10)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5 and "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
    assert re.fullmatch(
        r"\[2/5\] log_likelihood: 10/40 examples \(25%\), [\d.e+]+ examples/s, \d+ s, ETA \d+ s",
        lines[0],
    )
    last = r"\[2/5\] log_likelihood: 40 examples, .* examples/s, done in \d+ s"
    assert re.fullmatch(last, lines[4])


def test_lines_are_spaced_by_the_interval():
    stream = io.StringIO()
    progress = Progress("encoding", 1000, mode="lines", interval=3600, stream=stream)
    for _ in range(100):
        progress.update(10)
    assert stream.getvalue() == ""  # nothing before the interval has passed
    progress.close()
    assert stream.getvalue().count("\n") == 1 and "done in" in stream.getvalue()
    progress.update(1)  # closed: silent
    assert stream.getvalue().count("\n") == 1


def test_on_a_terminal_progress_is_a_bar_and_none_is_silent():
    terminal = Terminal()
    reporter = Reporter("auto", stream=terminal)
    assert reporter.mode == "bar"
    with reporter.progress("mutual_information", total=20, unit="step") as progress:
        progress.update(20)
    assert "mutual_information" in terminal.getvalue() and "20/20" in terminal.getvalue()
    assert "\r" in terminal.getvalue()  # redrawn in place
    quiet = io.StringIO()
    with Reporter("none", stream=quiet).stage("x") as stage, stage.progress(3) as progress:
        progress.update(3)
    assert quiet.getvalue() == ""
    with pytest.raises(ValueError, match="progress must be one of"):
        Reporter("fancy")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("progress") / "run"
    config = TrainConfig.from_flat(
        dataset="sklearn_digits", limit=200, validation_limit=0, epochs=1, batch_size=50,
        latent_dim=3, decoder_layers=1, critic_units=(16, 8), tensorboard_images=False,
        projector_points=0, arch_options={"units": 32},
    )  # fmt: skip
    train(config, out, verbose=0)
    return out


def test_evaluate_prints_each_stage_and_keeps_its_time(run_dir, capsys):
    args = ["evaluate", str(run_dir), "--limit", "120", "--train-limit", "200", "--batch-size"]
    args += ["20", "--iw-samples", "8", "--iw-max-pairs", "40", "--mi-steps", "15"]
    args += ["--mi-critic-units", "8"]
    args += ["--probe-units", "8", "--probe-max-epochs", "2", "--progress-interval", "0"]
    assert main([*args, "--projector-points", "50", "--tsne-points", "100"]) == 0
    out = capsys.readouterr().out
    assert "\r" not in out  # captured output is not a terminal: plain lines
    stages = ["encoding", *EvaluationConfig().metrics, "figures", "tsne", "projector"]
    for number, stage in enumerate(stages, 1):
        assert f"[{number}/{len(stages)}] {stage}" in out, stage
    # periodic lines with the examples done, the rate and the ETA, then a last line
    iwae = [line for line in out.splitlines() if "] log_likelihood:" in line]
    assert len(iwae) >= 5 and all("examples/s" in line for line in iwae)
    assert "ETA" in iwae[0] and iwae[-1].endswith(" s") and "120 examples" in iwae[-1]
    critic = [line for line in out.splitlines() if "] mutual_information:" in line]
    # three critics (the --mi-critics default) of 15 steps each, counted as one stage
    assert "45/45 steps" in " ".join(critic) or "45 steps" in critic[-1]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    times = metrics["evaluation"]["stage_times_s"]
    assert list(times) == stages and all(t >= 0 for t in times.values())
    for name in EvaluationConfig().metrics:
        assert metrics[name]["time_s"] == times[name]
    assert metrics["evaluation"]["encoding_time_s"] == times["encoding"]
    assert metrics["evaluation"]["load_time_s"] > 0
    assert metrics["probe_accuracy"]["encoding_time_s"] >= 0

    # the t-SNE map of the first 100 test codes, coloured by label
    tsne = metrics["figures"]["tsne"]
    assert metrics["figures"]["paths"]["tsne"] == "figures/tsne.png"
    assert tsne["num_points"] == 100 and tsne["time_s"] == times["tsne"]
    picture = tf.io.decode_png(tf.io.read_file(str(run_dir / "figures" / "tsne.png")))
    assert picture.shape[0] > 100 and picture.shape[1] > 100

    # the projector of the first 50 test codes beside the logs
    assert metrics["projector"]["dir"] == "logs/projector"
    _, codes, rows = projector_files(run_dir / "logs" / "projector")
    assert codes.shape == (50, 3) and len(rows) == 1 + 50


def test_unlabelled_data_gets_no_tsne_but_a_note(tmp_path):
    model = tiny_model("vae")
    data = tf.data.Dataset.from_tensor_slices(tiny_images(30)).batch(10)
    config = EvaluationConfig(metrics=("active_units",), progress="none")
    results = evaluate_model(model, data, config=config, figures_dir=tmp_path)
    assert results["figures"]["tsne"]["note"] == "skipped: the evaluation data has no labels"
    assert "tsne" not in results["figures"]["paths"] and not (tmp_path / "tsne.png").exists()
    assert (tmp_path / "samples.png").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"progress_interval": -1.0}, "progress_interval must be >= 0 seconds"),
        ({"tsne_points": -1}, "tsne_points must be >= 0"),
        ({"projector_points": -5}, "projector_points must be >= 0"),
        ({"progress": "fancy"}, "progress must be one of"),
    ],
)
def test_bad_evaluation_display_options(options, message):
    with pytest.raises(ValueError, match=message):
        EvaluationConfig(**options)
