"""The local launcher: TF_CONFIG per worker, prefixed logs, stop-all and the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tf_infomax.distributed.launch import free_ports, tf_configs

LAUNCH = [sys.executable, "-m", "tf_infomax.distributed.launch"]


def test_each_worker_gets_the_cluster_and_its_index():
    configs = [json.loads(c) for c in tf_configs(free_ports(3))]
    workers = configs[0]["cluster"]["worker"]
    assert len(set(workers)) == 3 and all(w.startswith("127.0.0.1:") for w in workers)
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
    assert all(c["cluster"] == configs[0]["cluster"] for c in configs)


def test_logs_are_prefixed_and_a_failure_stops_the_others_with_its_exit_code():
    # Worker 1 fails at once with 3; worker 0 would sleep a minute: it is stopped.
    script = (
        "import json, os, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
        "print('hello from', i, flush=True); time.sleep(60) if i == 0 else sys.exit(3)"
    )
    start = time.monotonic()
    result = subprocess.run(
        [*LAUNCH, "--workers", "2", "--", "python", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert time.monotonic() - start < 30
    assert "[worker 0] hello from 0" in result.stdout
    assert "[worker 1] hello from 1" in result.stdout
    assert "[launch] worker 1 exited with 3: stopping all" in result.stdout
