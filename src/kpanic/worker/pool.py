"""The analysis worker processes `kpanic serve` starts, restarts and stops."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time


class WorkerPool:
    """``kpanic worker --queue Q`` child processes, one per entry of ``queues``; the entry
    ``notify`` is the notification dispatcher (``kpanic notify run``) instead."""

    def __init__(self, url: str, queues: list[str], *, log_level: str = "info") -> None:
        self.url = url
        self.queues = queues
        self.log_level = log_level
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * len(queues)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="kpanic-workers", daemon=True)

    def _spawn(self, queue: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "KPANIC_DATABASE_URL": self.url}
        if queue == "notify":
            cmd = [sys.executable, "-m", "kpanic.cli", "notify", "run", "--db", self.url]
            return subprocess.Popen(cmd, env=env)
        cmd = [
            sys.executable,
            "-m",
            "kpanic.cli",
            "worker",
            "--queue",
            queue,
            "--db",
            self.url,
            "--log-level",
            self.log_level,
        ]
        return subprocess.Popen(cmd, env=env)

    def start(self) -> None:
        for i, queue in enumerate(self.queues):
            self.procs[i] = self._spawn(queue)
        self.thread.start()

    def _watch(self) -> None:
        """Restart a worker that exited (a crash) while the service runs."""
        while not self.stopping.wait(1.0):
            for i, proc in enumerate(self.procs):
                if proc is not None and proc.poll() is not None and not self.stopping.is_set():
                    print(
                        f"kpanic: {self.queues[i]} worker exited ({proc.returncode}); restarting",
                        file=sys.stderr,
                    )
                    self.procs[i] = self._spawn(self.queues[i])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every worker (each finishes its batch), SIGKILL the ones still running."""
        self.stopping.set()
        live = [p for p in self.procs if p is not None and p.poll() is None]
        for proc in live:
            proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in live:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
