"""Kill ``datafair settle`` at every step, rerun it: one root per epoch, nobody paid twice.

Each case runs the real CLI in a subprocess with ``DATAFAIR_SETTLE_CRASH_AT`` set to one
checkpoint of :data:`~datafair.services.settlement.settle.CHECKPOINTS`, so the process dies with
``os._exit`` right after that step (``sent``: after the transaction is mined, before it is
recorded). The rerun (in-process) must finish the same epoch; a further run finds nothing to
settle; the chain holds exactly one ``PayoutPosted`` for the task; every leaf pays once and the
audit passes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from settle_helpers import TRUTH, Home, prepare_home

from datafair.chain.deploy import load_deployment
from datafair.chain.embedded import EmbeddedChain
from datafair.chain.escrow import EscrowClient
from datafair.core.errors import Conflict
from datafair.services.settlement.audit import audit_bundle
from datafair.services.settlement.claims import claim_all, claimable
from datafair.services.settlement.settle import (
    CHECKPOINTS,
    CRASH_ENV,
    CRASH_STATUS,
    settle_task,
    settlements_of,
)
from datafair.settings import load_settings
from datafair.store.blobs import BlobStore
from datafair.store.db import Database
from datafair.store.repositories import TaskRepository


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """One data home with a funded, answered task per checkpoint."""
    return prepare_home(tmp_path_factory.mktemp("crash") / "home", n_tasks=len(CHECKPOINTS))


def _settle(
    home: Home, task_id: bytes, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFAIR_")}
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    command = [sys.executable, "-m", "datafair.cli.app", "settle", "0x" + task_id.hex()]
    return subprocess.run(
        [*command, "--home", str(home.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("step", range(len(CHECKPOINTS)), ids=list(CHECKPOINTS))
def test_a_crash_at_any_step_then_a_rerun_posts_one_root_and_pays_once(
    home: Home, step: int
) -> None:
    task_id = home.task_ids[step]
    crashed = _settle(home, task_id, CHECKPOINTS[step])
    assert crashed.returncode == CRASH_STATUS, crashed.stderr

    settings = load_settings(home=home.path)
    database = Database.open(settings)
    chain = EmbeddedChain(settings.chain_dir, settings.chain_id)
    blobs = BlobStore(settings.blobs_dir)
    try:
        escrow = EscrowClient(chain, load_deployment(settings.chain_dir, chain))
        with database.session() as session:
            # the gold the bundle reveals is retired in the commit that records the bundle
            task_pk = TaskRepository(session).by_task_id(task_id).id  # type: ignore[union-attr]
            retired = TaskRepository(session).retired_gold(task_pk)
            gold_cid = next(iter(TRUTH[task_id]))
            assert retired == ({} if CHECKPOINTS[step] == "opened" else {gold_cid: 1})
            if CHECKPOINTS[step] == "done":
                with pytest.raises(Conflict, match="no new submissions since epoch 1"):
                    settle_task(session, escrow, blobs, task_id, sender=home.owner)
            else:
                report = settle_task(session, escrow, blobs, task_id, sender=home.owner)
                assert report.resumed and report.epoch == 1 and report.state == "done"
            # A further run finds the epoch finished and nothing new.
            with pytest.raises(Conflict, match="no new submissions since epoch 1"):
                settle_task(session, escrow, blobs, task_id, sender=home.owner)

            events = escrow.events("PayoutPosted", task_id=task_id)
            assert [event.args["epoch"] for event in events] == [1]
            (row,) = settlements_of(session, task_id)
            assert (row.epoch, row.state, row.root) == (1, "done", events[0].args["root"])
            assert events[0].args["bundle_cid"] == row.bundle_cid
            assert row.tx_hash == events[0].tx_hash
            token = escrow.token(escrow.task(task_id).token)
            paid = 0
            for address in home.addresses:
                before = token.balance_of(address)
                claim_all(session, escrow, address, sender=address)
                # Claiming again sends nothing: every leaf is marked claimed on chain.
                assert claimable(session, escrow, address)[0] == []
                paid += token.balance_of(address) - before
            assert paid == row.total
            assert escrow.task(task_id).outstanding == 0
            audit = audit_bundle(blobs.get(row.bundle_cid), escrow)
            assert audit.root == row.root
    finally:
        chain.close()
        database.dispose()
