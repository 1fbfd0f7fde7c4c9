"""Tests of benchmarks/train_throughput.py and its library benchmarks/throughput/: the FLOP
count, the worker protocol, that the scripts share the library, and a quick run of our side.

No timing thresholds: throughput depends on the machine and its load. The runs need the real
Fashion-MNIST (prepared TFDS data or the Debian IDX files) and are skipped without it.
"""

from __future__ import annotations

import argparse
import ast
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
LIBRARY = BENCHMARKS / "throughput"
# The scripts that share the library (the pythae worker needs torch: read, not imported, here).
SCRIPTS = ("train_throughput.py", "train_throughput_pythae.py", "train_throughput_variants.py")


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

    head = 1000 * 400 + 400 * 100 + 100 * 1
    for k in (1, 16):  # the critic's head scores B joint and K * B marginal pairs
        infomax = tf_infomax.build_model(
            "infomax-vae", image_shape=(28, 28, 1), latent_dim=20, marginal_samples=k
        )
        critic = bench.flops_per_example(infomax)
        forward = 784_000 + 20_000 + (1 + k) * head
        assert critic["critic_forward_macs"] == forward
        assert critic["critic_part_algorithmic"] == 2 * (2 * forward + (1 + k) * head + 20_000)
        assert critic["as_implemented"] - critic["algorithmic"] == 2 * (1 + k) * head
    # Compiled with the f-KL default MI clip, one backward pass of the critic's loss serves the
    # critic and the MI term: the head chain runs once, the encoder's backward pass twice.
    infomax.compile()
    assert infomax.mi_clipnorm == 300.0
    encoder = 784_000 + 3 * 1_000_000 + 40_000
    clipped = bench.flops_per_example(infomax)
    assert clipped["as_implemented"] - clipped["algorithmic"] == 4 * encoder - 2 * 784_000
    assert clipped["algorithmic"] == critic["algorithmic"]


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
@pytest.mark.slow
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

    # The committed result is a contract: every key it has, a run writes too (where measured).
    committed = json.loads((BENCHMARKS / "results" / "train_throughput.json").read_text())
    assert set(committed) <= set(result)
    for part in ("settings", "versions", "machine", "targets_reached", "matmul_limit"):
        assert set(committed[part]) <= set(result[part]), part
    for key, entry in configurations.items():
        assert set(committed["configurations"][key]) <= set(entry), key
    assert {k for k in committed["matmul_limit"]["rates"][0] if "onednn_off" not in k} == set(
        limit["rates"][0]
    )

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


def test_importing_the_driver_parses_no_flags_and_loads_no_tensorflow():
    # Flags the driver does not know: parsing them would exit. TensorFlow must not be loaded
    # either, or TF_ENABLE_ONEDNN_OPTS could no longer be set from the flags.
    code = (
        "import importlib.util, sys\n"
        f"sys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "sys.argv = ['pytest', '--no-such-flag', '-x']\n"
        f"spec = importlib.util.spec_from_file_location('train_throughput', {str(SCRIPT)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert 'tensorflow' not in sys.modules, 'importing the driver loaded TensorFlow'\n"
        "assert callable(module.main) and callable(module.parse_args)\n"
        "print('imported')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr[-3000:]


def test_driver_flags_and_defaults():
    driver = _import_script("train_throughput")
    args = driver.parse_args([])
    assert (args.repeats, args.steps, args.warmup_steps, args.batch_size) == (5, 10, 5, 100)
    assert args.archs == ["fc", "conv"] and args.pythae_loops == ["trainer", "plain"]
    assert (args.xla, args.onednn, args.pipeline, args.pythae_omp_wait_policy) == (
        "both",
        "both",
        "load",
        "both",
    )
    assert args.out == BENCHMARKS / "results" / "train_throughput.json"
    assert args.pythae_venv == ROOT / "runs" / ".venv-pythae"
    quick = driver.parse_args(["--quick", "--skip-pythae"])
    assert (quick.repeats, quick.steps, quick.warmup_steps, quick.limit) == (1, 2, 1, 1000)
    assert quick.archs == ["fc"] and quick.onednn == "on"
    assert driver.parse_args(["--quick", "--onednn", "both"]).onednn == "both"
    with pytest.raises(SystemExit):
        driver.parse_args(["--archs", "rnn"])


def test_the_scripts_share_the_library_functions():
    driver = _import_script("train_throughput")
    variants = _import_script("train_throughput_variants")
    timing = importlib.import_module("throughput.timing")
    ours = importlib.import_module("throughput.ours")
    step_timer = importlib.import_module("step_timer")
    machine = importlib.import_module("machine")
    protocol = importlib.import_module("throughput.protocol")
    tf_worker = importlib.import_module("throughput.tf_worker")
    results = importlib.import_module("throughput.results")

    assert driver.interleave is variants.interleave is timing.interleave
    assert variants.ours is ours
    assert variants.timed_fit is ours.timed_fit is step_timer.timed_fit
    assert driver.load_average is variants.load_average is machine.load_average
    assert variants.step_ms is timing.step_ms and results.summarize is timing.summarize
    assert tf_worker.serve is protocol.serve

    # The pythae worker (torch, not installed here) takes the protocol's worker end too.
    tree = ast.parse((BENCHMARKS / "train_throughput_pythae.py").read_text())
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("throughput.protocol", "serve") in imported

    # No script defines again a function or class of the library.
    def defined(path):
        tree = ast.parse(path.read_text())
        return {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name != "main"
        }

    library = set().union(*(defined(p) for p in LIBRARY.glob("*.py")))
    library |= defined(BENCHMARKS / "step_timer.py") | defined(BENCHMARKS / "machine.py")
    for script in SCRIPTS:
        assert not defined(BENCHMARKS / script) & library, script


def test_the_worker_protocol_round_trip(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "from throughput.protocol import serve\n"
        "def handlers():\n"
        "    print('a stray print')  # must not reach the protocol\n"
        "    state = {}\n"
        "    def setup(c):\n"
        "        state[c['key']] = c['steps']\n"
        "        return {'warmup_seconds': 0.5, 'parameters': 7}\n"
        "    def measure(c):\n"
        "        return {'seconds': 1.0, 'cpu_seconds': 2.0, 'steps': state[c['key']]}\n"
        "    def fail(c):\n"
        "        raise ValueError('no')\n"
        "    return {'setup': setup, 'measure': measure, 'fail': fail}\n"
        "sys.exit(serve(handlers))\n"
    )
    _on_path()
    protocol = importlib.import_module("throughput.protocol")
    remote = protocol.JsonWorker("test", [sys.executable, str(worker)], {})
    try:
        run = protocol.RemoteRun(remote, "k", 3, arch="fc")
        assert (run.warmup_seconds, run.parameters) == (0.5, 7)
        assert run.run() == (1.0, 2.0)
        with pytest.raises(RuntimeError, match="ValueError: no"):
            remote.ask(op="fail")
        with pytest.raises(RuntimeError, match="unknown op 'nope'"):
            remote.ask(op="nope")
    finally:
        remote.close()
    assert remote.process.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _have_fashion_mnist(), reason="real Fashion-MNIST not available")
def test_tf_worker_sets_up_measures_and_times_matmuls():
    """The driver's ``--worker`` (our configurations under the other oneDNN setting), tiny."""
    _on_path()
    tf_worker = importlib.import_module("throughput.tf_worker")
    args = argparse.Namespace(
        batch_size=100,
        pipeline="load",
        warmup_steps=1,
        intra_op_threads=0,
        inter_op_threads=0,
        limit=300,
        data_dir=None,
    )
    worker = tf_worker.start(args, True, SCRIPT)
    try:
        rates = worker.ask(
            op="matmul", cases=[[64, 128, 32, False, True]], repeats=1, target_flops=1e7
        )
        assert rates["rates"][0]["graph"]["best"] > 0 and rates["rates"][0]["xla"]["best"] > 0
        setup = worker.ask(op="setup", key="k", arch="fc", method="vae", jit=False, steps=1)
        assert setup["parameters"]["vae"] > 0 and setup["parameters"]["critic"] == 0
        assert setup["flops"]["algorithmic"] == 44_200_000
        answer = worker.ask(op="measure", key="k")
        assert answer["steps"] == 1 and answer["seconds"] > 0
    finally:
        worker.close()
    assert worker.process.returncode == 0
