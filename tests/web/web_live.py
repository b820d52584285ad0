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

CHAIN_ID = 31337

__all__ = ["Person", "serious_violations", "serving", "shoot", "wallet_script", "widths"]

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
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
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


class Person:
    """One person's browser context: their own cookies and storage and, unless ``injected`` is
    false, their wallet injected as ``window.ethereum`` (``key``, else the test wallet of
    ``label``: the operator's for "operator")."""

    def __init__(
        self,
        browser: Any,
        url: str,
        label: str,
        *,
        width: int = 1280,
        key: str | None = None,
        injected: bool = True,
    ) -> None:
        from web_helpers import OPERATOR, web_wallet

        self.url = url
        self.label = label
        self.wallet = OPERATOR if label == "operator" else web_wallet(label)
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        if injected:
            self.context.add_init_script(wallet_script(key or self.wallet.key.hex(), CHAIN_ID))
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, path: str) -> Any:
        self.page.goto(self.url + path)
        return self.page

    def sign_in(self) -> None:
        page = self.open("/")
        page.click("[data-action=connect]")
        page.wait_for_selector(".wallet .address")

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


def serious_violations(page: Any) -> list[tuple[str, str, int]]:
    """axe-core's serious and critical violations on the open page: (rule, impact, nodes)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def widths(person: Any, paths: list[str]) -> dict[str, int]:
    """Each page's laid-out width in ``person``'s window (``scrollWidth`` once loaded): wider
    than the window means a sideways scroll."""
    found = {}
    for path in paths:
        page = person.open(path)
        page.wait_for_load_state("networkidle")
        found[path] = int(page.evaluate("document.documentElement.scrollWidth"))
    return found
