"""Tests of benchmarks/train_throughput.py: the FLOP count, and a quick run of our side.

No timing thresholds: throughput depends on the machine and its load. The quick run needs the
real Fashion-MNIST (prepared TFDS data or the Debian IDX files) and is skipped without it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

import tf_infomax
from tf_infomax.data import fashion_mnist_local

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
SCRIPT = BENCHMARKS / "train_throughput.py"


def _have_fashion_mnist() -> bool:
    if tfds.builder("fashion_mnist").is_prepared():
        return True
    return not fashion_mnist_local.missing_files(fashion_mnist_local.default_source_dir())


def _on_path():
    # As when a script runs, its folder is on sys.path (benchmarks/machine.py, throughput/).
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))


def _import_script(name: str):
    _on_path()
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    """The FLOP counting of the benchmark (benchmarks/throughput/flops.py)."""
    _on_path()
    return importlib.import_module("throughput.flops")


def test_flops_per_example_of_the_paper_fc_nets(bench):
    vae = tf_infomax.build_model("vae", image_shape=(28, 28, 1), latent_dim=20, arch="fc")
    flops = bench.flops_per_example(vae)
    # 784-1000-1000-1000-1000-40 and 20-1000-1000-1000-1000-784 multiply-adds per example.
    macs = 784_000 + 3 * 1_000_000 + 40_000 + 20_000 + 3 * 1_000_000 + 784_000
    assert flops["forward_macs_encoder_decoder"] == macs
    # forward 2M + weight gradients 2M + input gradients 2M, none into the data layer.
    assert flops["algorithmic"] == 6 * macs - 2 * 784_000 == 44_200_000
    assert flops["as_implemented"] == flops["algorithmic"]

    infomax = tf_infomax.build_model("infomax-vae", image_shape=(28, 28, 1), latent_dim=20)
    critic = bench.flops_per_example(infomax)
    head = 1000 * 400 + 400 * 100 + 100 * 1
    forward = 784_000 + 20_000 + 2 * head
    assert critic["critic_forward_macs"] == forward
    assert critic["critic_part_algorithmic"] == 2 * (2 * forward + 2 * head + 20_000)
    assert critic["as_implemented"] - critic["algorithmic"] == 2 * 2 * head


def test_gemm_cases_cover_the_counted_flops(bench):
    model = tf_infomax.build_model("infomax-vae", image_shape=(28, 28, 1), latent_dim=20)
    cases = bench.gemm_cases(model, batch=100)
    gemm_flops = sum(2 * m * k * n * count for (m, k, n, _, _), count in cases)
    assert gemm_flops == 100 * bench.flops_per_example(model)["algorithmic"]


def test_conv_flops_count_convolutions(bench):
    model = tf_infomax.build_model("vae", image_shape=(28, 28, 1), latent_dim=20, arch="conv")
    macs = bench.network_macs(model.encoder)
    # first layer: 14 x 14 outputs x 4 x 4 kernel x 1 -> 28 channels
    assert macs[0] == 14 * 14 * 4 * 4 * 1 * 28
    assert bench.flops_per_example(model)["algorithmic"] > 0


@pytest.mark.skipif(not _have_fashion_mnist(), reason="real Fashion-MNIST not available")
def test_quick_run_of_our_side_writes_the_results(tmp_path):
    out = tmp_path / "train_throughput.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_INFOMAX_OFFLINE="1")
    command = [sys.executable, str(SCRIPT), "--quick", "--skip-pythae", "--xla", "off"]
    done = subprocess.run(
        [*command, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())

    assert result["quick"] is True
    assert result["settings"]["batch_size"] == 100
    configurations = result["configurations"]
    assert set(configurations) == {
        "ours/fc/vae/graph/onednn-on",
        "ours/fc/infomax-vae/graph/onednn-on",
    }
    for entry in configurations.values():
        assert entry["examples_per_s_median"] > 0
        assert entry["examples_per_s_best"] >= entry["examples_per_s_median"]
        assert entry["step_ms_median"] > 0
        assert entry["gflops_median"] > 0
        assert entry["fraction_of_matmul_limit_median"] > 0
        assert entry["flops_per_example"]["algorithmic"] > 0
    assert configurations["ours/fc/infomax-vae/graph/onednn-on"]["critic"] is True
    assert configurations["ours/fc/vae/graph/onednn-on"]["critic"] is False

    limit = result["matmul_limit"]
    assert limit["peak_gflops_measured"] > 0
    assert limit["settings"] == ["onednn_on"]
    for rate in limit["rates"]:
        assert rate["gflops_graph_onednn_on_best"] > 0 and rate["gflops_xla_onednn_on_best"] > 0
    for method in ("vae", "infomax-vae"):
        assert limit["limits"][method]["limit_examples_per_s"] > 0

    fc = result["headline"]["fc"]
    assert fc["vae"]["examples_per_s"] > 0 and fc["infomax-vae"]["examples_per_s"] > 0
    assert fc["ratios"]["infomax_vae_step_over_vae_step"] > 0
    assert fc["ratios"]["vae_fraction_of_matmul_limit"] > 0
    assert set(result["targets_reached"]) == {
        "infomax_vae_over_pythae_vae_ge_1.2 (vs the faster pythae loop)",
        "vae_ge_70pct_of_matmul_limit",
        "infomax_vae_step_le_1.3x_vae_step",
    }

    machine = result["machine"]
    assert machine["cpu_model"] and machine["tf_intra_op_threads"] >= 1
    assert len(machine["load_average_start"]) == 3 and len(machine["load_average_end"]) == 3
    assert result["versions"]["tensorflow"] and result["versions"]["pythae_side"] is None

    # The docs' tables are rendered from such a JSON (benchmarks/render_throughput.py).
    rendered = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "render_throughput.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    vae = configurations["ours/fc/vae/graph/onednn-on"]
    assert f"| `ours/fc/vae/graph/onednn-on` | {vae['examples_per_s_median']:,.0f} |" in (
        rendered.stdout
    )
    assert "**limit " in rendered.stdout and "InfoMax-VAE step / VAE step" in rendered.stdout
