"""Workers driven one JSON line at a time, both ends (standard library only).

The parent writes one JSON command per line on the worker's stdin and reads one JSON answer per
line on its stdout; the worker's own prints and logs go to stderr, kept in a temporary file
that the parent shows if the worker dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

Handler = Callable[[dict], dict]


class JsonWorker:
    """A subprocess driven one JSON line at a time (the pythae worker, or the TF worker with
    the other oneDNN setting)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]):
        self.name = name
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={**os.environ, **env},
        )

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"{self.name} worker died:\n" + self.log.read()[-3000:])
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.name} worker: {answer['error']}")
        return answer

    def close(self):
        with contextlib.suppress(Exception):
            self.ask(op="quit")
        with contextlib.suppress(Exception):
            self.process.wait(timeout=30)
        if self.process.poll() is None:
            self.process.kill()
        self.log.close()


class RemoteRun:
    """A configuration set up and measured in a worker process."""

    def __init__(self, worker: JsonWorker, key: str, steps: int, **setup):
        self.worker, self.key, self.steps = worker, key, steps
        self.setup = worker.ask(op="setup", key=key, steps=steps, **setup)
        self.warmup_seconds = self.setup["warmup_seconds"]
        self.parameters = self.setup["parameters"]

    def run(self) -> tuple[float, float]:
        answer = self.worker.ask(op="measure", key=self.key)
        assert answer["steps"] == self.steps
        return answer["seconds"], answer["cpu_seconds"]


def serve(make_handlers: Callable[[], dict[str, Handler]]) -> int:
    """The worker's end: answer each command ``{"op": OP, ...}`` with ``handlers[OP](command)``
    until ``{"op": "quit"}``.

    stdout becomes the protocol's alone before ``make_handlers`` runs (whatever it and the
    handlers print goes to stderr). An exception in a handler is answered as
    ``{"error": ...}``, which the parent raises.
    """
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    handlers = make_handlers()

    def reply(payload: dict) -> None:
        protocol.write(json.dumps(payload) + "\n")

    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            op = command["op"]
            if op == "quit":
                reply({"bye": True})
                return 0
            if op not in handlers:
                reply({"error": f"unknown op {op!r}"})
                continue
            reply(handlers[op](command))
        except Exception as error:  # reported to the parent, which fails loudly
            reply({"error": f"{type(error).__name__}: {error}"})
    return 0
