"""Assignment: next item for a contributor, k limits, gold mix, expiry, release."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from datafair.core.errors import Conflict, InvalidInput, NotFound
from datafair.core.schemas import ItemKind
from datafair.services.assignment import (
    AssignedItem,
    expire_assignments,
    gold_draw,
    item_draw,
    next_item,
    release_assignment,
)
from datafair.services.submissions import submit
from datafair.services.tasks import close_task, task_progress
from datafair.store.blobs import BlobStore
from datafair.store.models import Assignment


def _held(session) -> int:
    return int(session.scalar(select(func.count()).select_from(Assignment)) or 0)


def test_an_assignment_gives_the_item_its_context_and_content_but_nothing_of_gold(
    session, make_task, contributors, clock
):
    task = make_task(n=3, overlap=2, gold={0: "pos"}, gold_ratio=0.5)
    seen = set()
    while True:
        assigned = next_item(session, task.task_id, contributors[0].address, clock=clock)
        if assigned is None:
            break
        assert isinstance(assigned, AssignedItem)
        seen.add(assigned.item_cid)
        assert assigned.task_id == task.task_id
        assert assigned.context.kind is ItemKind.TEXT
        assert assigned.text is not None and assigned.context.text_length == len(assigned.text)
        assert assigned.expires_at == int(clock() * 1000) + 600_000
        fields = {field.name for field in dataclasses.fields(assigned)}
        assert not any("gold" in name for name in fields)
        assert "pos" not in repr(assigned.meta)
    assert set(task.ordinary) <= seen <= set(task.items)


def test_image_content_comes_from_the_blob_store(session, make_task, contributors, clock, tmp_path):
    from datafair.core.canonical import canonical_json
    from datafair.core.schemas import LabelSchema, TaskType
    from datafair.core.task import TaskSpec
    from datafair.crypto.cid import compute_cid
    from datafair.services.tasks import create_task
    from datafair.store.repositories import DatasetRepository, ItemRepository, NewItem

    blobs = BlobStore(tmp_path / "blobs")
    cid = blobs.put(b"\x89PNG not really")
    ItemRepository(session).add_many(
        [NewItem(cid, ItemKind.IMAGE, 15, width=32, height=16)], now_ms=0
    )
    manifest = compute_cid(canonical_json([cid]))
    DatasetRepository(session).create(
        manifest_cid=manifest, card={"title": "img"}, item_cids=[cid], now_ms=0
    )
    session.commit()
    spec = TaskSpec(manifest, "boxes", LabelSchema(TaskType.BOXES, ("cat",)), overlap=1)
    info = create_task(session, spec, clock=clock)
    assigned = next_item(session, info.task_id, contributors[0].address, clock=clock, blobs=blobs)
    assert assigned is not None
    assert assigned.content == b"\x89PNG not really"
    assert (assigned.context.width, assigned.context.height) == (32, 16)


def test_the_first_item_is_where_the_seeded_draw_points(session, make_task, contributors, clock):
    task = make_task(n=40, overlap=3)
    for contributor in contributors[:5]:
        assigned = next_item(session, task.task_id, contributor.address, clock=clock)
        start = int(item_draw(bytes(32), contributor.address, 0) * 40)
        # every item is still open, so the draw's own position is taken
        assert assigned is not None and assigned.item_cid == task.items[start]


def test_there_is_no_fill_order_contributors_are_spread(session, make_task, contributors, clock):
    task = make_task(n=60, overlap=5)
    first = [
        next_item(session, task.task_id, contributor.address, clock=clock)
        for contributor in contributors[:12]
    ]
    cids = [assigned.item_cid for assigned in first if assigned is not None]
    # fill-first would send the first five to one item and the next five to another
    assert len(cids) == 12 and len(set(cids)) >= 9


def test_the_sequence_is_reproducible_given_the_seed(session, make_task, contributors, clock):
    sequences = []
    for _ in range(2):  # two tasks of 30 items, both with the zero seed
        task = make_task(n=30, overlap=2)
        picks = []
        for _ in range(3):
            for contributor in contributors[:4]:
                assigned = next_item(session, task.task_id, contributor.address, clock=clock)
                assert assigned is not None
                picks.append(task.items.index(assigned.item_cid))
        sequences.append(picks)
    assert sequences[0] == sequences[1]


def test_the_draw_skips_to_the_next_open_item_and_wraps_around(
    session, make_task, contributors, clock
):
    task = make_task(n=5, overlap=1)
    alice = contributors[0].address
    given = []
    while (assigned := next_item(session, task.task_id, alice, clock=clock)) is not None:
        given.append(assigned.item_cid)
    assert sorted(given) == sorted(task.items)


def test_never_an_item_already_answered_or_held(session, make_task, contributors, clock):
    task = make_task(n=3, overlap=3)
    alice = contributors[0]
    submit(session, alice.sign(task.info, task.items[0], "pos", 1), clock=clock)
    held = next_item(session, task.task_id, alice.address, clock=clock)
    again = next_item(session, task.task_id, alice.address, clock=clock)
    assert held is not None and again is not None
    assert {held.item_cid, again.item_cid} == set(task.items[1:])
    assert next_item(session, task.task_id, alice.address, clock=clock) is None


def test_every_item_gets_exactly_k_holders_and_then_none_is_left(
    session, make_task, contributors, clock
):
    task = make_task(n=3, overlap=2)
    given = [
        next_item(session, task.task_id, contributor.address, clock=clock)
        for contributor in contributors[:8]
        for _ in range(3)
    ]
    cids = [assigned.item_cid for assigned in given if assigned is not None]
    assert sorted(cids) == sorted(task.items * 2)
    progress = task_progress(session, task.task_id)
    assert (progress.reserved, progress.answers) == (6, 0)


def test_the_gold_mix_follows_the_ratio_and_is_deterministic_given_the_seed(
    session, make_task, contributors, clock
):
    gold = {index: "pos" for index in range(20)}
    no_onboarding = {"onboarding_items": 0, "onboarding_gold": 0}
    task = make_task(n=80, overlap=1, gold=gold, gold_ratio=0.25, extra=no_onboarding)
    golden = set(task.gold)
    picks = []
    for _ in range(40):
        assigned = next_item(
            session, task.task_id, contributors[0].address, clock=clock, max_held=40
        )
        assert assigned is not None
        picks.append(assigned.item_cid in golden)
    expected = [gold_draw(bytes(32), contributors[0].address, n) < 0.25 for n in range(40)]
    assert picks == expected
    assert 4 <= sum(picks) <= 16


def test_when_gold_runs_out_ordinary_items_are_given(session, make_task, contributors, clock):
    no_onboarding = {"onboarding_items": 0, "onboarding_gold": 0}
    task = make_task(n=10, overlap=5, gold={0: "pos"}, gold_ratio=0.5, extra=no_onboarding)
    alice = contributors[0].address
    given = [next_item(session, task.task_id, alice, clock=clock) for _ in range(9)]
    cids = [assigned.item_cid for assigned in given if assigned is not None]
    assert len(cids) == len(set(cids)) == 9  # gold draws after the one gold item: ordinary ones
    assert set(cids) <= set(task.items)
    draws = [gold_draw(bytes(32), alice, n) < 0.5 for n in range(9)]
    assert sum(draws) > 1  # the seed asks for gold more often than there is gold
    assert (task.items[0] in cids) == any(draws)


def test_when_ordinary_items_run_out_the_contributor_is_done(
    session, make_task, contributors, clock
):
    task = make_task(n=3, overlap=5, gold={0: "pos", 1: "neg"}, gold_ratio=0.5)
    alice = contributors[0].address
    given = []
    while (assigned := next_item(session, task.task_id, alice, clock=clock)) is not None:
        given.append(assigned.item_cid)
    assert task.items[2] in given and len(given) <= 3


def test_gold_items_respect_their_own_overlap(session, make_task, contributors, clock):
    task = make_task(n=3, overlap=5, gold={0: "pos"}, gold_ratio=0.5, gold_overlap=1)
    gold_cid = task.items[0]
    holders = []
    for contributor in contributors[:6]:
        for _ in range(3):
            assigned = next_item(session, task.task_id, contributor.address, clock=clock)
            if assigned is not None and assigned.item_cid == gold_cid:
                holders.append(contributor.address)
    assert len(holders) == 1


def test_expired_holds_come_back_to_the_pool(session, make_task, contributors, clock):
    task = make_task(n=1, overlap=1)
    alice, bob = contributors[:2]
    assert next_item(session, task.task_id, alice.address, clock=clock, timeout_s=60) is not None
    assert next_item(session, task.task_id, bob.address, clock=clock) is None
    clock.advance(61)
    taken = next_item(session, task.task_id, bob.address, clock=clock)
    assert taken is not None and taken.item_cid == task.items[0]
    progress = task_progress(session, task.task_id)
    assert progress.reserved == 1
    statuses = sorted(session.scalars(select(Assignment.status)))
    assert statuses == ["expired", "held"]


def test_an_expired_hold_can_be_taken_again_by_the_same_contributor(
    session, make_task, contributors, clock
):
    task = make_task(n=1, overlap=1)
    alice = contributors[0]
    first = next_item(session, task.task_id, alice.address, clock=clock, timeout_s=5)
    clock.advance(10)
    again = next_item(session, task.task_id, alice.address, clock=clock)
    assert first is not None and again is not None
    assert again.assignment_id == first.assignment_id and again.expires_at > first.expires_at
    assert _held(session) == 1


def test_expire_assignments_releases_only_overdue_holds(session, make_task, contributors, clock):
    task = make_task(n=2, overlap=2)
    next_item(session, task.task_id, contributors[0].address, clock=clock, timeout_s=10)
    next_item(session, task.task_id, contributors[1].address, clock=clock, timeout_s=100)
    clock.advance(50)
    assert expire_assignments(session, task.task_id, clock=clock) == 1
    assert expire_assignments(session, task.task_id, clock=clock) == 0
    assert task_progress(session, task.task_id).reserved == 1


def test_a_contributor_can_skip_an_item(session, make_task, contributors, clock):
    task = make_task(n=1, overlap=1)
    alice, bob = contributors[:2]
    held = next_item(session, task.task_id, alice.address, clock=clock)
    assert held is not None
    with pytest.raises(NotFound):
        release_assignment(session, held.assignment_id, bob.address)
    release_assignment(session, held.assignment_id, alice.address)
    assert task_progress(session, task.task_id).reserved == 0
    with pytest.raises(NotFound, match="not held"):
        release_assignment(session, held.assignment_id, alice.address)
    assert next_item(session, task.task_id, bob.address, clock=clock) is not None


def test_a_hold_answered_by_its_contributor_is_consumed(session, make_task, contributors, clock):
    task = make_task(n=1, overlap=1)
    alice = contributors[0]
    held = next_item(session, task.task_id, alice.address, clock=clock)
    assert held is not None
    submit(session, alice.sign(task.info, held.item_cid, "neg", 1), clock=clock)
    progress = task_progress(session, task.task_id)
    assert (progress.answers, progress.reserved, progress.full_items) == (1, 0, 1)
    assert session.scalar(select(Assignment.status)) == "submitted"
    assert next_item(session, task.task_id, contributors[1].address, clock=clock) is None


def test_a_skipped_item_is_never_offered_to_the_skipper_again(
    session, make_task, contributors, clock
):
    task = make_task(n=3, overlap=1)
    alice, bob = contributors[:2]
    held = next_item(session, task.task_id, alice.address, clock=clock)
    assert held is not None
    release_assignment(session, held.assignment_id, alice.address)
    rest = []
    while (assigned := next_item(session, task.task_id, alice.address, clock=clock)) is not None:
        rest.append(assigned.item_cid)
    assert sorted(rest) == sorted(set(task.items) - {held.item_cid})
    taken = next_item(session, task.task_id, bob.address, clock=clock)
    assert taken is not None and taken.item_cid == held.item_cid


def test_skips_are_counted_and_bounded(session, make_task, contributors, clock):
    task = make_task(n=6, overlap=1, extra={"max_skips": 2})
    alice = contributors[0].address
    for _ in range(2):
        held = next_item(session, task.task_id, alice, clock=clock)
        assert held is not None
        release_assignment(session, held.assignment_id, alice)
    third = next_item(session, task.task_id, alice, clock=clock)
    assert third is not None
    with pytest.raises(Conflict, match=r"skipped 2 items of this task.*extra.max_skips 2"):
        release_assignment(session, third.assignment_id, alice)
    assert task_progress(session, task.task_id).reserved == 1  # the hold stays
    skipped = session.scalar(select(func.count()).where(Assignment.skipped.is_(True)))
    assert skipped == 2


def test_one_contributor_takes_at_most_the_share_cap(session, make_task, contributors, clock):
    task = make_task(n=300, overlap=1, extra={"max_share_bps": 4000})  # cap: 120 of 300
    alice, bob = contributors[0].address, contributors[1].address
    for _ in range(120):
        assert next_item(session, task.task_id, alice, clock=clock, max_held=500) is not None
    with pytest.raises(Conflict, match=r"taken its share of this task \(120 answers"):
        next_item(session, task.task_id, alice, clock=clock, max_held=500)
    assert next_item(session, task.task_id, bob, clock=clock) is not None
    assert _held(session) == 121


def test_the_share_cap_never_binds_below_its_floor(session, make_task, contributors, clock):
    task = make_task(n=30, overlap=1, extra={"max_share_bps": 1})
    alice = contributors[0].address
    given = [next_item(session, task.task_id, alice, clock=clock, max_held=50) for _ in range(30)]
    assert all(assigned is not None for assigned in given)


def test_a_new_wallet_starts_with_its_onboarding_gold(session, make_task, contributors, clock):
    gold = {index: "pos" for index in range(0, 100, 5)}  # 20 gold items of 100
    extra = {"onboarding_items": 8, "onboarding_gold": 3}
    task = make_task(n=100, overlap=3, gold=gold, gold_ratio=0.05, extra=extra)
    golden = set(task.gold)
    patterns = set()
    for contributor in contributors[:6]:
        picks = []
        for _ in range(8):
            assigned = next_item(
                session, task.task_id, contributor.address, clock=clock, max_held=50
            )
            assert assigned is not None
            picks.append(assigned.item_cid in golden)
        assert sum(picks) == 3  # exactly the quota, wherever the draws place it
        patterns.add(tuple(picks))
    assert len(patterns) > 1  # not always the same places


def test_onboarding_is_on_by_default_when_the_task_has_gold(
    session, make_task, contributors, clock
):
    gold = {index: "pos" for index in range(0, 100, 4)}
    task = make_task(n=100, overlap=3, gold=gold, gold_ratio=0.01)
    picks = [
        next_item(session, task.task_id, contributors[0].address, clock=clock, max_held=50)
        for _ in range(10)
    ]
    assert sum(assigned.item_cid in task.gold for assigned in picks if assigned) == 3


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ({"max_share_bps": 0}, "extra.max_share_bps", "must be an integer 1..10000, got 0"),
        ({"max_share_bps": "half"}, "extra.max_share_bps", "must be an integer 1..10000"),
        ({"max_skips": -1}, "extra.max_skips", "must be an integer 0..100000, got -1"),
        (
            {"onboarding_items": 2, "onboarding_gold": 3},
            "extra.onboarding_gold",
            "3 gold items do not fit",
        ),
        ({"onboarding_items": True}, "extra.onboarding_items", "must be an integer 0..1000"),
    ],
)
def test_bad_assignment_settings_are_refused_at_creation(session, make_task, extra, field, problem):
    from datafair.store.models import Task

    with pytest.raises(InvalidInput, match=rf"^{field}: {problem}") as raised:
        make_task(n=4, gold={0: "pos"}, gold_ratio=0.25, extra=extra)
    assert "\n" not in str(raised.value)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Task)) == 0


def test_an_onboarding_quota_needs_gold(session, make_task):
    with pytest.raises(InvalidInput, match=r"^extra\.onboarding_gold: the task has no gold items"):
        make_task(n=4, extra={"onboarding_items": 5, "onboarding_gold": 1})


# --------------------------------------------------------------------------- bad input


def test_a_closed_task_gives_no_assignment(session, make_task, contributors, clock):
    task = make_task()
    close_task(session, task.task_id, clock=clock)
    with pytest.raises(Conflict, match="closed"):
        next_item(session, task.task_id, contributors[0].address, clock=clock)
    assert _held(session) == 0


def test_a_task_past_its_deadline_gives_no_assignment(session, make_task, contributors, clock):
    task = make_task(deadline=int(clock()) + 5)
    clock.advance(5)
    with pytest.raises(Conflict, match="deadline"):
        next_item(session, task.task_id, contributors[0].address, clock=clock)
    assert _held(session) == 0


def test_holding_too_many_items_is_refused(session, make_task, contributors, clock):
    task = make_task(n=4)
    for _ in range(2):
        next_item(session, task.task_id, contributors[0].address, clock=clock, max_held=2)
    with pytest.raises(Conflict, match="already holds 2"):
        next_item(session, task.task_id, contributors[0].address, clock=clock, max_held=2)
    assert _held(session) == 2


def test_unknown_tasks_and_bad_addresses_are_refused(session, make_task, contributors, clock):
    with pytest.raises(NotFound, match="no task"):
        next_item(session, bytes(32), contributors[0].address, clock=clock)
    task = make_task()
    with pytest.raises(InvalidInput, match="contributor"):
        next_item(session, task.task_id, "0xnot-an-address", clock=clock)
    with pytest.raises(NotFound):
        expire_assignments(session, bytes(32), clock=clock)
    assert _held(session) == 0
