"""Run a local anvil node (npm ``@foundry-rs/anvil``) on a free port, for tests and benchmarks.

``make test`` installs anvil with ``npm ci`` into ``node_modules/.bin/anvil``. anvil funds ten
well-known development accounts (the mnemonic "test test ... junk") with 10,000 ETH each; the
first three keys are in ``DEV_KEYS``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datafair.core.errors import ChainError

DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def run_anvil(
    binary: Path, chain_id: int = 31337, start_timeout: float = 30, hardfork: str | None = None
) -> Iterator[str]:
    """Run ``binary`` (anvil) on a free port until the block exits; yields its URL.

    ``hardfork`` (e.g. ``"shanghai"``, ``"cancun"``, ``"prague"``) is passed as anvil's
    ``--hardfork``; ``None`` keeps anvil's default (its latest). Raises ``ChainError`` with
    anvil's own output if it does not answer within ``start_timeout`` seconds.
    """
    if not binary.exists():
        raise ChainError(f"anvil is not installed at {binary}: run 'npm ci'")
    port = free_port()
    command = [str(binary), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--chain-id", str(chain_id)]
    if hardfork is not None:
        command += ["--hardfork", hardfork]
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                message = process.stderr.read().decode().strip() if process.stderr else ""
                raise ChainError(f"anvil did not start on port {port}: {message}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
