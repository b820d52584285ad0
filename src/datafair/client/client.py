"""``DatafairClient``: every party's calls to a datafair server, signing locally.

Inputs: the server's base URL (``http://host:port``); wallets are eth-account ``LocalAccount``
objects (e.g. from the keystore). Errors of the server (RFC 9457 problems) raise ``ApiError``,
whose message is the problem's one-line ``detail``. Submissions and reviews are idempotent on
the server, so :meth:`submit_answer` and :meth:`submit_review` retry a few times after a
connection error or a 5xx without any risk of counting twice.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from datafair.core.canonical import canonical_json, keccak256
from datafair.core.errors import DatafairError

API = "/api/v1"
RETRIES = 4


class ApiError(DatafairError):
    """A problem document returned by the server (``status``, ``field``, ``fix``)."""

    def __init__(self, problem: Mapping[str, Any]) -> None:
        self.problem = dict(problem)
        self.status = int(problem.get("status", 0))
        self.field = problem.get("field")
        super().__init__(str(problem.get("detail") or problem.get("title") or "request failed"))


def siwe_message(nonce: Mapping[str, Any], address: str, *, ttl_s: int = 600) -> str:
    """The EIP-4361 text for the server's nonce document (``GET /api/v1/auth/nonce``)."""
    from siwe import SiweMessage

    now = datetime.now(UTC)

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    message = SiweMessage(
        domain=nonce["domain"],
        address=address,
        statement=nonce.get("statement") or "Sign in to datafair.",
        uri=nonce["uri"],
        version="1",
        chain_id=int(nonce["chain_id"]),
        nonce=nonce["nonce"],
        issued_at=stamp(now),
        expiration_time=stamp(now + timedelta(seconds=ttl_s)),
    )
    return str(message.prepare_message())


def check_typed_data(
    typed: Mapping[str, Any], *, address: str, task_id: str, answer: Any | None = None
) -> None:
    """Refuse typed data that is not for ``address`` and ``task_id`` (and, for a submission,
    whose ``answerHash`` is not the hash of the canonical ``answer``)."""
    message = typed["message"]
    signer = message.get("contributor") or message.get("reviewer") or ""
    if signer.lower() != address.lower():
        raise ApiError({"detail": f"typed_data: signer {signer} is not {address}"})
    if str(message.get("taskId", "")).lower() != task_id.lower():
        raise ApiError({"detail": f"typed_data: task {message.get('taskId')} is not {task_id}"})
    if answer is not None:
        expected = "0x" + keccak256(canonical_json(answer)).hex()
        if str(message.get("answerHash", "")).lower() != expected:
            raise ApiError({"detail": "typed_data: answerHash is not the hash of the answer"})


def sign_typed(wallet: LocalAccount, typed: Mapping[str, Any]) -> str:
    """The 0x-hex ``eth_signTypedData_v4`` signature of ``typed`` by ``wallet``."""
    signed = Account.sign_typed_data(wallet.key, full_message=dict(typed))
    return "0x" + bytes(signed.signature).hex()


class DatafairClient:
    """Calls of a datafair server (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport
        )
        self.token = token
        self.address: str | None = None

    def __enter__(self) -> DatafairClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------------- plumbing

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, *, retries: int = 0, **kwargs: Any) -> Any:
        """Send a request; the decoded JSON (``None`` for 204), or ``ApiError``."""
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        for attempt in range(retries + 1):
            try:
                response = self.http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as error:
                if attempt == retries:
                    raise ApiError(
                        {"detail": f"server: cannot reach {self.base_url} ({error})"}
                    ) from None
                time.sleep(0.2 * 2**attempt)
                continue
            if response.status_code >= 500 and attempt < retries:
                time.sleep(0.2 * 2**attempt)
                continue
            return self._decode(response)
        raise AssertionError("unreachable")

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.status_code == 204:
            return None
        kind = response.headers.get("content-type", "")
        if response.status_code >= 400:
            if "json" in kind:
                raise ApiError(response.json())
            raise ApiError({"status": response.status_code, "detail": response.text[:200]})
        if "json" in kind:
            return response.json()
        return response.content

    # ------------------------------------------------------------------------- sign-in

    def sign_in(self, wallet: LocalAccount) -> str:
        """Sign in with ``wallet`` (EIP-4361, signed locally); the session token."""
        nonce = self.request("GET", f"{API}/auth/nonce")
        text = siwe_message(nonce, wallet.address)
        signature = Account.sign_message(encode_defunct(text=text), wallet.key).signature
        session = self.request(
            "POST",
            f"{API}/auth/sign-in",
            json={"message": text, "signature": "0x" + bytes(signature).hex()},
        )
        self.http.cookies.clear()  # programs authenticate with the bearer token only
        self.token = session["token"]
        self.address = session["address"]
        return str(session["token"])

    def sign_out(self) -> None:
        self.request("POST", f"{API}/auth/sign-out")
        self.token = None

    def me(self) -> dict[str, Any]:
        return dict(self.request("GET", f"{API}/auth/me"))

    # ------------------------------------------------------------------------- requester

    def upload_dataset(
        self,
        path: Path,
        *,
        title: str,
        license: str = "CC-BY-4.0",
        languages: Sequence[str] = (),
        description: str = "",
        content_type: str | None = None,
    ) -> dict[str, Any]:
        path = Path(path)
        types = {".csv": "text/csv", ".jsonl": "application/x-ndjson", ".zip": "application/zip"}
        media = content_type or types.get(path.suffix.lower(), "application/json")
        with path.open("rb") as handle:
            return dict(
                self.request(
                    "POST",
                    f"{API}/datasets",
                    files={"file": (path.name, handle, media)},
                    data={
                        "title": title,
                        "license": license,
                        "languages": ",".join(languages),
                        "description": description,
                    },
                )
            )

    def create_task(self, **spec: Any) -> dict[str, Any]:
        return dict(self.request("POST", f"{API}/tasks", json=spec))

    def close_task(self, task_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"{API}/tasks/{task_id}/close"))

    def funding(self, task_id: str, amount: int, **extra: Any) -> dict[str, Any]:
        body = {"amount": str(amount), **extra}
        return dict(self.request("POST", f"{API}/tasks/{task_id}/funding", json=body))

    def quality(self, task_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"{API}/tasks/{task_id}/quality"))

    # ------------------------------------------------------------------------- contributor

    def tasks(self, status: str = "open") -> list[dict[str, Any]]:
        return list(self.request("GET", f"{API}/tasks", params={"status": status}))

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"{API}/tasks/{task_id}"))

    def next_item(self, task_id: str) -> dict[str, Any] | None:
        """The next item held for the signed-in account, or None when none is left."""
        found = self.request("POST", f"{API}/tasks/{task_id}/next")
        return None if found is None else dict(found)

    def sign_request(
        self, task_id: str, item_cid: str, answer: Any, *, nonce: int, duration_ms: int
    ) -> dict[str, Any]:
        body = {
            "item_cid": item_cid,
            "answer": answer,
            "nonce": str(nonce),
            "duration_ms": duration_ms,
        }
        return dict(self.request("POST", f"{API}/tasks/{task_id}/sign-request", json=body))

    def signed_answer(
        self,
        wallet: LocalAccount,
        task_id: str,
        item_cid: str,
        answer: Any,
        *,
        duration_ms: int = 0,
        nonce: int | None = None,
    ) -> dict[str, Any]:
        """A submission body for ``answer``, signed locally after checking the typed data."""
        chosen = secrets.randbits(52) if nonce is None else nonce
        request = self.sign_request(
            task_id, item_cid, answer, nonce=chosen, duration_ms=duration_ms
        )
        typed = request["typed_data"]
        check_typed_data(typed, address=wallet.address, task_id=task_id, answer=request["answer"])
        return {
            "item_cid": item_cid,
            "answer": request["answer"],
            "contributor": wallet.address,
            "nonce": str(chosen),
            "duration_ms": duration_ms,
            "signature": sign_typed(wallet, typed),
        }

    def submit(self, task_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Submit one signed answer (retried safely: the server is idempotent by signature)."""
        return dict(
            self.request(
                "POST", f"{API}/tasks/{task_id}/submissions", json=dict(entry), retries=RETRIES
            )
        )

    def submit_batch(self, task_id: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        body = {"submissions": [dict(entry) for entry in entries]}
        return dict(
            self.request(
                "POST", f"{API}/tasks/{task_id}/submissions/batch", json=body, retries=RETRIES
            )
        )

    def submit_answer(
        self,
        wallet: LocalAccount,
        task_id: str,
        item_cid: str,
        answer: Any,
        *,
        duration_ms: int = 0,
    ) -> dict[str, Any]:
        """Sign ``answer`` locally and submit it."""
        entry = self.signed_answer(wallet, task_id, item_cid, answer, duration_ms=duration_ms)
        return self.submit(task_id, entry)

    def next_review(self, task_id: str) -> dict[str, Any] | None:
        found = self.request("POST", f"{API}/tasks/{task_id}/reviews/next")
        return None if found is None else dict(found)

    def submit_review(
        self,
        wallet: LocalAccount,
        target: Mapping[str, Any],
        *,
        verdict: str | None = "accept",
        rating: int | None = None,
    ) -> dict[str, Any]:
        """Sign a review of ``target`` (from :meth:`next_review`) locally and submit it."""
        typed = {**target["typed_data"], "message": dict(target["typed_data"]["message"])}
        check_typed_data(typed, address=wallet.address, task_id=target["task_id"])
        typed["message"]["verdict"] = {None: 0, "accept": 1, "reject": 2}[verdict]
        typed["message"]["rating"] = rating or 0
        body = {
            "submission_id": target["submission_id"],
            "reviewer": wallet.address,
            "verdict": verdict,
            "rating": rating,
            "signature": sign_typed(wallet, typed),
        }
        return dict(
            self.request(
                "POST", f"{API}/tasks/{target['task_id']}/reviews", json=body, retries=RETRIES
            )
        )

    def review_by_id(
        self,
        wallet: LocalAccount,
        task_id: str,
        submission_id: int,
        *,
        verdict: str | None = "accept",
        rating: int | None = None,
    ) -> dict[str, Any]:
        """Review submission ``submission_id``: fetch its typed data, sign locally, submit."""
        body = {"submission_id": submission_id, "verdict": verdict, "rating": rating}
        found = self.request("POST", f"{API}/tasks/{task_id}/reviews/sign-request", json=body)
        target = {"task_id": task_id, "submission_id": submission_id, **found}
        return self.submit_review(wallet, target, verdict=verdict, rating=rating)

    def my_answers(self) -> list[dict[str, Any]]:
        return list(self.request("GET", f"{API}/me/answers"))

    def earnings(self) -> list[dict[str, Any]]:
        return list(self.request("GET", f"{API}/me/earnings"))

    def pending(self) -> list[dict[str, Any]]:
        return list(self.request("GET", f"{API}/me/pending"))

    def claimable(self) -> dict[str, Any]:
        return dict(self.request("GET", f"{API}/me/claimable"))

    def claim(self, leaves: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        body = {} if leaves is None else {"leaves": [dict(leaf) for leaf in leaves]}
        return dict(self.request("POST", f"{API}/claims", json=body))

    # ------------------------------------------------------------------------- operator, public

    def settle(self, task_id: str, *, seal_partial: bool = False) -> dict[str, Any]:
        params = {"seal_partial": "true"} if seal_partial else None
        return dict(self.request("POST", f"{API}/tasks/{task_id}/settle", params=params))

    def bundle(self, cid: str) -> bytes:
        return bytes(self.http.get(f"{API}/bundles/{cid}", headers=self._headers()).content)

    def audit(self, cid: str) -> dict[str, Any]:
        return dict(self.request("GET", f"{API}/bundles/{cid}/audit"))

    def chain(self) -> dict[str, Any]:
        return dict(self.request("GET", f"{API}/chain"))

    def fee(self) -> dict[str, Any]:
        return dict(self.request("GET", f"{API}/fee"))
