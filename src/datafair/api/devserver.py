"""Run ``datafair serve`` as a real process on a free 127.0.0.1 port, for tests and benchmarks
that need a real server (browsers, JSON-RPC clients), as :mod:`datafair.chain.devnode` runs
anvil."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATAFAIR = Path(sys.executable).with_name("datafair")


@contextmanager
def serving(
    home: Path, env: dict[str, str] | None = None, *, timeout_s: float = 90.0
) -> Iterator[str]:
    """``datafair serve`` over ``home`` on a free port; yields its URL once ``/ready`` answers.

    Its output goes to ``serve-PORT.log`` beside the home. Stopped with SIGTERM (uvicorn's
    graceful shutdown) at the end, killed if it does not stop in 20 s.
    """
    import httpx

    from datafair.chain.devnode import free_port

    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = (home.parent / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [str(DATAFAIR), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "DATAFAIR_HOME": str(home), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"datafair serve exited with {process.returncode} (see {log.name})"
                )
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"datafair serve was not ready in {timeout_s:g} s")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
