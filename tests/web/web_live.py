"""A ``datafair serve`` process and Chromium wallets for the browser tests.

The server is a real process on a free 127.0.0.1 port over a home whose embedded chain has
datafair deployed (by ``OPERATOR``) and dev tokens minted to the requester. Each person gets
their own browser context (cookies and storage) with a real EIP-1193 provider injected before
any page script: ethers v6 from ``node_modules`` holding that person's key, answering
``eth_requestAccounts``, ``personal_sign``, ``eth_signTypedData_v4`` and sending transactions
to the server's ``/rpc``, as MetaMask would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from datafair.api.devserver import serving

__all__ = ["serving", "shoot", "wallet_script"]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("DATAFAIR_SCREENSHOTS", REPO / "out" / "screenshots"))

PROVIDER = """
(() => {
  const wallet = new ethers.Wallet(%(key)s);
  const chainId = %(chain)d;
  let rpc = null;
  const options = { staticNetwork: true, cacheTimeout: -1 };  // no stale nonces
  const node = () =>
    rpc || (rpc = new ethers.JsonRpcProvider(location.origin + "/rpc", chainId, options));
  const parts = (data) => {
    const types = Object.assign({}, data.types);
    delete types.EIP712Domain;
    return [data.domain, types, data.message];
  };
  window.__walletRequests = [];
  window.ethereum = {
    isTestWallet: true,
    on() {},
    removeListener() {},
    async request({ method, params }) {
      window.__walletRequests.push(method);
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [wallet.address];
        case "eth_chainId":
          return "0x" + chainId.toString(16);
        case "personal_sign":
          return wallet.signMessage(ethers.getBytes(params[0]));
        case "eth_signTypedData_v4":
          return wallet.signTypedData(...parts(JSON.parse(params[1])));
        case "wallet_switchEthereumChain":
        case "wallet_addEthereumChain":
          return null;
        case "eth_sendTransaction": {
          const tx = Object.assign({}, params[0]);
          delete tx.from;
          const sent = await wallet.connect(node()).sendTransaction(tx);
          return sent.hash;
        }
        default:
          return node().send(method, params || []);
      }
    },
  };
})();
"""


def wallet_script(private_key: str, chain_id: int) -> str:
    """The init script of one person's browser: ethers, then their EIP-1193 wallet."""
    ethers = (REPO / "node_modules" / "ethers" / "dist" / "ethers.umd.min.js").read_text()
    return ethers + "\n" + PROVIDER % {"key": json.dumps(private_key), "chain": chain_id}


def shoot(page: Any, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
