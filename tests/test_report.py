"""`tf-infomax report`: one generic renderer, experiment sections by hook, depth plots, notes."""

from __future__ import annotations

import json

import pytest

from trainers.cli import main


def _row(run: str, model: str, depth: int, seed: int, ll: float, experiment: str) -> dict:
    return {
        "experiment": experiment,
        "run": run,
        "model": model,
        "arch": "fc",
        "estimator": "f-kl",
        "decoder_layers": depth,
        "seed": seed,
        "epochs": 2,
        "train_wall_time_s": 10.0,
        "log_likelihood": ll,
        "active_units": 5 if model == "vae" else 20,
        "mutual_information": 3.0,
        "config": {"dataset": "fashion_mnist"},
    }


def _rows(experiment: str) -> list[dict]:
    return [
        _row(f"{m}_d{d}_s{s}", m, d, s, -240.0 - d - s, experiment)
        for d in (2, 4)
        for s in (0, 1)
        for m in ("vae", "infomax-vae")
    ]


def test_an_experiment_without_a_report_hook_gets_the_runs_table_and_depth_plots(tmp_path):
    results, out = tmp_path / "r.json", tmp_path / "r.md"
    results.write_text(json.dumps(_rows("fashion_mnist_ablation_like")))
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| vae_d2_s0 | vae | f-kl | 2 | 0 | 2 |" in text  # the default runs table
    for metric in ("mutual_information", "active_units", "log_likelihood"):
        png = tmp_path / "figures" / "r" / f"fashion_mnist_ablation_like_{metric}_vs_depth.png"
        assert png.stat().st_size > 0 and f"]({png.relative_to(tmp_path)})" in text
    assert "_notes.md" not in text  # no hand-written notes beside it


def test_a_hook_renders_the_experiment_and_the_notes_are_linked(tmp_path):
    results, out = tmp_path / "t.json", tmp_path / "t.md"
    results.write_text(json.dumps(_rows("fashion_mnist_tables")))
    (tmp_path / "t_notes.md").write_text("# what we read\n")
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    assert "[t_notes.md](t_notes.md)" in text
    assert "### The paper's ordering in our runs" in text  # fashion_mnist_tables' hook
    assert "| 2 | -242.50 ± 0.71 / -253.87 / 11.37 |" in text  # mean ± sd / paper / diff


def test_a_cell_shows_only_its_longest_training_while_a_rerun_is_under_way(tmp_path):
    rows = _rows("fashion_mnist_tables")
    rows[0] = {**rows[0], "epochs": 10, "log_likelihood": -230.0}  # vae_d2_s0 re-run longer
    results, out = tmp_path / "t.json", tmp_path / "t.md"
    results.write_text(json.dumps(rows))
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    # The 10-epoch seed alone, not averaged with the 2-epoch seed 1 (-243).
    assert "| 2 | -230.00 / -253.87 / 23.87 |" in out.read_text()


def test_a_diverged_run_is_counted_in_its_cell_not_dropped(tmp_path):
    rows = [{**r, "config": {**r["config"], "epochs": 10}, "epochs": 10} for r in
            _rows("fashion_mnist_tables")]  # fmt: skip
    metrics = ("log_likelihood", "active_units", "mutual_information")
    rows[0] = {**rows[0], "epochs": 7, "diverged": {"epoch": 8, "batch": 3}}  # vae_d2_s0
    rows[0].update(dict.fromkeys(metrics))
    results, out = tmp_path / "t.json", tmp_path / "t.md"
    results.write_text(json.dumps(rows))
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    # The cell's mean is seed 1's (-243) and says that seed 0 diverged.
    assert "| 2 | -243.00 (1 of 2 diverged) / -253.87 / 10.87 |" in text
    assert "| 2 | vae | 0,1 | 7,10 | 0: 8 |" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [("[1, 2]", "does not hold results rows"), ("{", "is not valid JSON")],
)
def test_a_file_that_is_not_results_is_refused(tmp_path, capsys, content, message):
    results = tmp_path / "bad.json"
    results.write_text(content)
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "o.md")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.md").exists()


def test_the_settings_table_shows_each_runs_floor_and_critic_count(tmp_path):
    """Rows made before and after a default changed sit in one table: each says its own."""
    rows = _rows("fashion_mnist_tables")
    rows[0]["config"] = {**rows[0]["config"], "min_log_var": None}  # 0.2: no floor
    rows[1]["config"] = {**rows[1]["config"], "min_log_var": -10.0}  # today's default
    rows[1]["metric_settings"] = {
        "mutual_information": {"bound": "f-kl", "steps": 2000, "train_limit": None, "critics": 3}
    }
    results, out = tmp_path / "t.json", tmp_path / "t.md"
    results.write_text(json.dumps(rows))
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| vae_d2_s0 | 2 | all | none/none | none | - x - | -, -, -, - |" in text
    assert "| infomax-vae_d2_s0 | 2 | all | none/none | -10 | - x - | f-kl, 2000, all, 3 |" in text
    # A config.json from before the option (0.1) meant its floor of -10.
    assert "| vae_d4_s0 | 2 | all | none/none | -10 |" in text


def test_runs_evaluated_with_several_critics_list_every_critic(tmp_path):
    rows = [{**r, "train_history": {}} for r in _rows("fashion_mnist_convergence")]
    rows[1]["metric_settings"] = {
        "mutual_information": {
            "critics": 3,
            "critic_seeds": [0, 2, 4],
            "critic_values": [4.1, -2.0, 3.0],
            "critic_train_estimates": [4.5, 4.6, 4.4],
        }
    }
    results, out = tmp_path / "c.json", tmp_path / "c.md"
    results.write_text(json.dumps(rows))
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    assert "### Post-hoc MI, every critic" in text
    assert "| infomax-vae_d2_s0 | 0, 2, 4 | 4.10, -2.00, 3.00 | 3.00 | 4.50, 4.60, 4.40 |" in text
    assert "| vae_d2_s0 | " not in text.split("every critic")[1].split("###")[0]  # one critic
