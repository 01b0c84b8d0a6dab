"""Run the real app under uvicorn in a subprocess, for tests that need a real server.

Used by the crash test (the database dies under it), the body-size tests (the server's own
memory is measured while a client streams a gigabyte at it) and anything else that must see
real sockets rather than the in-process TestClient.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``uvicorn api.main:create_app --factory`` on 127.0.0.1 with the given COM_ settings."""

    def __init__(self, env: dict[str, str], log_path: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # No webhook deliverer unless a test asks for one: it would claim the deliveries of the
        # webhook tests, which share the session's database.
        self._env = {**os.environ, "PYTHONPATH": str(REPO), "COM_WEBHOOK_DELIVERY": "false", **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> LiveServer:
        """Start the server and wait until it answers HTTP (any status)."""
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                "--timeout-graceful-shutdown", "3",
            ],
            cwd=REPO, env=self._env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log_tail()}")
            try:
                httpx.get(f"{self.base_url}/openapi.json", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"uvicorn did not answer within {timeout_s} s: {self.log_tail()}")

    def rss_bytes(self) -> int:
        """Return the server process's resident memory (VmRSS from /proc)."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def reset_peak(self) -> None:
        """Reset the server's peak resident memory (VmHWM) to its current RSS."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")

    def peak_rss_bytes(self) -> int:
        """Return the server's peak resident memory since start or :meth:`reset_peak`."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
