"""trainers.mi_steps: the post-hoc MI at several critic step counts, and the model's own critic."""

from __future__ import annotations

import json
import math

from tf_infomax.config import TrainConfig
from tf_infomax.training import train
from trainers.mi_steps import main


def test_rows_per_run_and_step_count_with_the_own_critic_for_infomax_vae(tmp_path):
    tiny = dict(
        dataset="sklearn_digits", latent_dim=3, limit=200, batch_size=50, epochs=1,
        validation_limit=0, arch_options={"units": 16}, critic_units=(8,),
    )  # fmt: skip
    for method in ("vae", "infomax-vae"):
        train(TrainConfig.from_flat(model=method, **tiny), tmp_path / method, verbose=0)
    out = tmp_path / "mi_steps.json"
    runs = [str(tmp_path / m) for m in ("vae", "infomax-vae")]
    assert main([*runs, "--steps", "3", "6", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["run"], r["steps"]) for r in rows] == [
        ("vae", 3), ("vae", 6), ("infomax-vae", 3), ("infomax-vae", 6),
    ]  # fmt: skip
    assert all(math.isfinite(r["mutual_information"]) for r in rows)
    assert rows[0]["own_critic_test_bound"] is None  # VAE has no critic
    assert math.isfinite(rows[2]["own_critic_test_bound"])
    assert rows[2]["own_critic_test_bound"] == rows[3]["own_critic_test_bound"]
    assert rows[2]["mutual_information"] != rows[3]["mutual_information"]  # more steps moved it
