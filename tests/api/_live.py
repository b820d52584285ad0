"""Run ``datafair serve`` as a real process on a free 127.0.0.1 port, for real clients."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from datafair.chain.devnode import free_port

DATAFAIR = Path(sys.executable).with_name("datafair")


@contextmanager
def serving(
    home: Path,
    *,
    env: dict[str, str] | None = None,
    workers: int = 1,
    port: int | None = None,
    timeout_s: float = 90.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``datafair serve`` over ``home``; yield its URL and process; stop it at the end
    (SIGTERM: uvicorn's graceful shutdown), killing it if it does not stop."""
    chosen = port or free_port()
    environment = {**os.environ, "DATAFAIR_HOME": str(home), **(env or {})}
    log = (home.parent / f"server-{chosen}.log").open("wb")
    process = subprocess.Popen(
        [
            str(DATAFAIR),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(chosen),
            "--workers",
            str(workers),
            "--grace",
            "5",
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{chosen}"
    try:
        wait_ready(url, process, timeout_s)
        yield url, process
    finally:
        stop(process)
        log.close()


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"datafair serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"datafair serve did not become ready at {url} in {timeout_s} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
