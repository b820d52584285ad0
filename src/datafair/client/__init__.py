"""The Python client of a datafair server (httpx), used by the remote CLI and scripts.

::

    from eth_account import Account
    from datafair.client import DatafairClient

    wallet = Account.create()
    with DatafairClient("http://127.0.0.1:8000") as market:
        market.sign_in(wallet)                        # EIP-4361, signed locally
        item = market.next_item(task_id)              # the item and the typed data to sign
        market.submit_answer(wallet, task_id, item["item_cid"], "pos", duration_ms=4200)

The wallet's key never leaves the process: the client signs the SIWE message and the EIP-712
typed data locally, after checking that the typed data the server handed out is for this
account, this task and this very answer (its ``answerHash`` is recomputed here).
"""

from datafair.client.client import ApiError, DatafairClient

__all__ = ["ApiError", "DatafairClient"]
