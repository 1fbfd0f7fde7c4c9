"""Start N local workers of one multi-worker run, for trying ``--strategy multi-worker`` here.

Usage:
    python -m tf_infomax.distributed.launch --workers 2 -- tf-infomax train --out runs/mw ...
    python -m tf_infomax.distributed.launch --workers 2 -- python -m trainers.cli train ...

Each worker is the command after ``--`` with ``TF_CONFIG`` naming a cluster of N workers on
free localhost ports and its own index (worker 0 is the chief). Their output is streamed line
by line, prefixed ``[worker i]``. When one worker fails, the others are stopped; the exit code
is the first failed worker's (0 when all succeed). A real cluster sets ``TF_CONFIG`` per host
instead (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

_STOP_GRACE_S = 10.0


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on 127.0.0.1 now (bound together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_configs(ports: Sequence[int]) -> list[str]:
    """The ``TF_CONFIG`` of each worker of a localhost cluster on ``ports``."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        for i in range(len(ports))
    ]


def _command(argv: Sequence[str]) -> list[str]:
    """``tf-infomax ...`` runs this interpreter's CLI when no such executable is on PATH."""
    argv = list(argv)
    if argv and argv[0] == "tf-infomax" and shutil.which("tf-infomax") is None:
        return [sys.executable, "-m", "trainers.cli", *argv[1:]]
    if argv and argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    return argv


def _stream(index: int, process: subprocess.Popen, lock: threading.Lock) -> None:
    prefix = f"[worker {index}] "
    for line in iter(process.stdout.readline, ""):
        with lock:
            sys.stdout.write(prefix + line if line.endswith("\n") else prefix + line + "\n")
            sys.stdout.flush()


def _stop(processes: Sequence[subprocess.Popen]) -> None:
    """SIGTERM the workers still running, then SIGKILL those that outlive the grace period."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_S
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def launch(workers: int, argv: Sequence[str], env: dict | None = None) -> int:
    """Run ``argv`` as ``workers`` local workers; the first failure's exit code, or 0."""
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}.")
    if not argv:
        raise ValueError("Give the worker command after --, e.g. -- tf-infomax train --out DIR.")
    command = _command(argv)
    base = dict(os.environ if env is None else env)
    lock = threading.Lock()
    processes, streams = [], []
    for index, tf_config in enumerate(tf_configs(free_ports(workers))):
        process = subprocess.Popen(
            command,
            env={**base, "TF_CONFIG": tf_config, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        with lock:
            print(f"[launch] worker {index}: pid {process.pid}", flush=True)
        streams.append(threading.Thread(target=_stream, args=(index, process, lock), daemon=True))
        streams[-1].start()
    code = 0
    try:
        running = set(range(workers))
        while running:
            for index in sorted(running):
                returncode = processes[index].poll()
                if returncode is None:
                    continue
                running.discard(index)
                if returncode != 0 and code == 0:
                    code = returncode
                    with lock:
                        print(f"[launch] worker {index} exited with {returncode}: stopping all")
                    _stop(processes)
            time.sleep(0.1)
    except KeyboardInterrupt:
        _stop(processes)
        code = code or 130
    for stream in streams:
        stream.join(timeout=5)
    return code if code >= 0 else 128 - code  # a signal -N exits as 128 + N


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(
        prog="python -m tf_infomax.distributed.launch",
        description="Run a command as N local workers of one MultiWorkerMirroredStrategy run.",
        epilog="Example: --workers 2 -- tf-infomax train --out runs/mw --dataset sklearn_digits",
    )
    parser.add_argument("--workers", type=int, default=2, help="number of workers (default: 2)")
    args = parser.parse_args(own)
    try:
        return launch(args.workers, command)
    except ValueError as error:
        parser.error(str(error))
        return 2


if __name__ == "__main__":
    sys.exit(main())
