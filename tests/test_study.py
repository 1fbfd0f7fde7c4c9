"""The Fashion-MNIST study's smoke variants: reproduce -> results JSON -> report Markdown."""

from __future__ import annotations

import json

import pytest

from trainers.cli import main
from trainers.iwae_k import main as iwae_k_main

ROW_KEYS = {
    "model",
    "decoder_layers",
    "latent_dim",
    "seed",
    "epochs",
    "log_likelihood",
    "mutual_information",
    "mutual_information_aggregate",
    "kl",
    "active_units",
    "probe_accuracy",
    "metric_settings",
}


def test_smoke_study_writes_rows_figures_and_report(tmp_path, capsys):
    results = tmp_path / "results" / "fashion_mnist.json"
    for experiment, runs in [
        ("fashion_mnist_tables", ["vae_d2_s0", "infomax-vae_d2_s0"]),
        ("fashion_mnist_2d", ["infomax-vae_fc_z2"]),
        ("fashion_mnist_long", ["infomax-vae_d2_s0_e1"]),
    ]:
        args = ["reproduce", experiment, "--root", str(tmp_path / experiment), "--smoke"]
        assert main([*args, "--results", str(results), "--only", *runs]) == 0
    rows = json.loads(results.read_text())
    runs = ["vae_d2_s0", "infomax-vae_d2_s0", "infomax-vae_fc_z2", "infomax-vae_d2_s0_e1"]
    assert [r["run"] for r in rows] == runs
    # Per-epoch training logs, incl. the training critic's MI bound for InfoMax-VAE.
    assert len(rows[1]["train_history"]["mi"]) == rows[1]["epochs"] == 1
    assert "mi" not in rows[0]["train_history"] and rows[0]["train_history"]["reconstruction"]
    for row in rows:
        assert set(row) >= ROW_KEYS, ROW_KEYS - set(row)
        assert row["log_likelihood"] < 0 and 0 <= row["active_units"] <= row["latent_dim"]
        assert set(row["probe_accuracy"]) == {"linear", "mlp"}
        assert row["metric_settings"]["log_likelihood"]["num_samples"] > 0
        for figure in row["figure_files"]:
            assert (results.parent / figure).stat().st_size > 0
    assert len(rows[2]["figure_files"]) == 2  # Figure 2 panels of the 2-D run

    # Off a terminal, plain lines: each evaluation stage, and the runs done with rate and ETA.
    out = capsys.readouterr().out
    assert "[2/11] active_units: done in" in out and "] log_likelihood: " in out
    assert "[fashion_mnist_tables] study: 1/2 runs (50%)" in out and "ETA" in out
    assert "[fashion_mnist_tables] study: 2 runs" in out and "done in" in out

    # Re-running skips finished work and keeps every row.
    args = ["reproduce", "fashion_mnist_2d", "--root", str(tmp_path / "fashion_mnist_2d")]
    assert main([*args, "--smoke", "--results", str(results), "--only", "infomax-vae_fc_z2"]) == 0
    assert len(json.loads(results.read_text())) == 4

    # The IWAE-K check writes rows beside the results JSON; the report picks them up.
    runs = [str(tmp_path / "fashion_mnist_tables" / r) for r in ("vae_d2_s0", "infomax-vae_d2_s0")]
    iwae_k = results.with_name("fashion_mnist_iwae_k.json")
    assert iwae_k_main([*runs, "--k", "2", "8", "--limit", "20", "--out", str(iwae_k)]) == 0
    k_rows = json.loads(iwae_k.read_text())
    assert [(r["run"], r["k"]) for r in k_rows] == [
        ("vae_d2_s0", 2),
        ("vae_d2_s0", 8),
        ("infomax-vae_d2_s0", 2),
        ("infomax-vae_d2_s0", 8),
    ]
    assert all(r["num_examples"] == 20 and r["log_likelihood"] < 0 for r in k_rows)

    markdown = tmp_path / "fashion_mnist.md"
    assert main(["report", "--results", str(results), "--out", str(markdown)]) == 0
    text = markdown.read_text()
    assert "| 2 | -" in text and "-253.87" in text  # our cell beside the paper's VAE number
    assert "2-D latent study" in text and "infomax-vae_fc_z2_latent_codes.png" in text
    # The longer run sits beside the tables' runs with its gap to VAE's log-likelihood.
    assert "## Log-likelihood against K" in text and "| infomax-vae minus vae, depth 2 |" in text
    assert "## fashion_mnist_long: Training-length check" in text
    assert "| infomax-vae_d2_s0_e1 | 2 | 1 |" in text


def test_unknown_experiment_and_run_names(tmp_path, capsys):
    assert main(["reproduce", "table9", "--root", str(tmp_path), "--smoke"]) == 2
    assert "Unknown experiment 'table9'" in capsys.readouterr().err
    args = ["reproduce", "fashion_mnist_2d", "--root", str(tmp_path), "--smoke", "--only", "x"]
    assert main(args) == 2
    assert "Unknown runs ['x']" in capsys.readouterr().err


def test_iwae_k_refuses_folders_that_are_not_trained_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        iwae_k_main([str(tmp_path), "--out", str(tmp_path / "k.json")])
    assert exit_info.value.code == 2
    assert "no model.keras" in capsys.readouterr().err
    assert not (tmp_path / "k.json").exists()
