"""Page routes: each loads what it shows through the same services as the JSON API, checks the
same policy, and renders a template (``[specific.html, generic.html]`` lookups as datasette
does). Pages that act (label, review, fund, upload, create, claim) call the JSON API from the
browser, signed by the wallet or its session key; the server never holds a contributor's key.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from datafair.api.deps import ActorDep, NodeDep, SessionDep
from datafair.api.policies import Actor, authorize, requester_of, requester_or_operator
from datafair.core.errors import DatafairError
from datafair.core.schemas import TaskType
from datafair.web import plots

# The dashboard runs one inference over every answer: while answers stream in, a result this
# many seconds old is shown (with its age) instead of recomputing on every request.
DASHBOARD_MAX_STALE_S = 10.0

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
router = APIRouter(include_in_schema=False)


def _units(value: int | None, decimals: int = 18) -> str:
    """Base units as a token amount: ``1500000000000000000`` → ``1.5``; amounts under a
    millionth of a token stay in base units (``12,000 base units``), never shown as 0."""
    if value is None:
        return "–"
    amount = int(value)
    if 0 < abs(amount) < 10 ** (decimals - 6):
        return f"{amount:,} base units"
    whole, fraction = divmod(amount, 10**decimals)
    digits = str(fraction).rjust(decimals, "0")[:6].rstrip("0")
    return f"{whole:,}" + (f".{digits}" if digits else "")


TEMPLATES.env.filters["units"] = _units
TEMPLATES.env.filters["short"] = lambda text: (
    text if not text or len(str(text)) < 18 else f"{str(text)[:10]}…{str(text)[-6:]}"
)


def page_config(request: Request, node: NodeDep, actor: Actor) -> dict[str, Any]:
    """What the page scripts need: the signed-in address, the chain, where wallets reach it."""
    settings = node.settings
    return {
        "address": actor.address,
        "operator": actor.operator,
        "chain_id": settings.chain_id,
        "chain_name": settings.chain_name,
        "rpc_url": settings.public_rpc_url or settings.rpc_url or "/rpc",
        "explorer": settings.explorer_url,
    }


def render(
    request: Request,
    node: NodeDep,
    actor: Actor,
    names: list[str] | str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    templates = [names] if isinstance(names, str) else names
    template = TEMPLATES.env.select_template(templates)
    config = page_config(request, node, actor)
    body = template.render(
        request=request,
        actor=actor,
        config=config,
        config_json=json.dumps(config),
        **context,
    )
    return HTMLResponse(body, status_code=status_code)


def error_page(request: Request, node: NodeDep, actor: Actor, error: DatafairError) -> HTMLResponse:
    """The error page of a domain error, with the status the JSON API would answer."""
    from datafair.api.problems import problem_of

    body = problem_of(error)
    return render(request, node, actor, "error.html", body["status"], problem=body)


# ----------------------------------------------------------------------------- contributors


@router.get("/", response_class=HTMLResponse)
def board(request: Request, node: NodeDep, session: SessionDep, actor: ActorDep) -> HTMLResponse:
    from datafair.services import task_board
    from datafair.services.tasks import task_progress

    entries = task_board.task_board(session, open_only=True)
    rows = []
    for entry in entries:
        progress = task_progress(session, entry.task.task_id)
        rows.append({"entry": entry, "left": progress.items - progress.full_items})
    session.rollback()
    return render(request, node, actor, ["board.html"], rows=rows)


@router.get("/tasks/new", response_class=HTMLResponse)
def new_task(
    request: Request,
    node: NodeDep,
    session: SessionDep,
    actor: ActorDep,
    dataset: str | None = None,
) -> HTMLResponse:
    from datafair.services.datasets import list_datasets

    datasets = list_datasets(session)
    session.rollback()
    return render(
        request,
        node,
        actor,
        "new_task.html",
        datasets=datasets,
        chosen=dataset,
        task_types=[t.value for t in TaskType],
        floor=node.settings.fair_pay_floor,
    )


@router.get("/fragments/fair-pay", response_class=HTMLResponse)
def fair_pay_check(
    request: Request,
    node: NodeDep,
    actor: ActorDep,
    price_per_answer: Annotated[str, Query(max_length=80)] = "",
    median_s: Annotated[float, Query(gt=0, le=86_400)] = 30.0,
) -> HTMLResponse:
    """The live fair-pay line of the task form: "median 14 s → X/h, below the floor, raise to N"."""
    from datafair.economics.fair_pay import price_needed

    floor = node.settings.fair_pay_floor
    try:
        value = int(price_per_answer)
        problem = None if value > 0 else "price: must be a positive integer of base units"
    except ValueError:
        value, problem = 0, "price: must be a whole number of base units (e.g. 1000000000000000)"
    hourly = int(value * 3600 / median_s) if value > 0 else 0
    needed = price_needed(floor, median_s) if floor else 0
    return render(
        request,
        node,
        actor,
        "_fair_pay.html",
        problem=problem,
        median_s=median_s,
        hourly=hourly,
        floor=floor,
        needed=needed,
        below=bool(floor) and value < needed,
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(
    task_id: str, request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    from datafair.services import task_board
    from datafair.services.tasks import task_progress

    try:
        entry = task_board.task_entry(session, task_id)
        progress = task_progress(session, task_id)
    except DatafairError as error:
        return error_page(request, node, actor, error)
    finally:
        session.rollback()
    info = entry.task
    return render(
        request,
        node,
        actor,
        [f"task_{info.spec.task_type}.html", "task.html"],
        entry=entry,
        info=info,
        progress=progress,
        is_requester=requester_or_operator(info.requester)(actor),
    )


def _task_json(info: Any) -> str:
    spec = info.spec
    return json.dumps(
        {
            "task_id": info.task_id_hex,
            "task_type": str(spec.task_type),
            "classes": list(spec.schema.choices),
            "chain_id": spec.chain_id,
            "title": spec.title,
        }
    )


@router.get("/tasks/{task_id}/label", response_class=HTMLResponse)
def label_page(
    task_id: str, request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    from datafair.services.tasks import get_task

    try:
        info = get_task(session, task_id)
    except DatafairError as error:
        return error_page(request, node, actor, error)
    finally:
        session.rollback()
    return render(
        request,
        node,
        actor,
        [f"label_{info.spec.task_type}.html", "label.html"],
        info=info,
        task_json=_task_json(info),
    )


@router.get("/tasks/{task_id}/review", response_class=HTMLResponse)
def review_page(
    task_id: str, request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    from datafair.services.tasks import get_task

    try:
        info = get_task(session, task_id)
    except DatafairError as error:
        return error_page(request, node, actor, error)
    finally:
        session.rollback()
    return render(request, node, actor, "review.html", info=info, task_json=_task_json(info))


@router.get("/me", response_class=HTMLResponse)
def earnings_page(
    request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    from datafair.services import portfolio

    if actor.address is None:
        return render(
            request, node, actor, "earnings.html", earnings=None, pending=[], reputation={}
        )
    earnings = portfolio.earnings(session, node.blobs, actor.address)
    pending = portfolio.pending_answers(session, actor.address)
    reputation = portfolio.my_reputation(session, actor.address)
    session.rollback()
    return render(
        request,
        node,
        actor,
        "earnings.html",
        earnings=earnings,
        pending=pending,
        reputation=reputation,
        claimable=sum(e.amount for e in earnings),
    )


# ----------------------------------------------------------------------------- requesters


@router.get("/datasets/new", response_class=HTMLResponse)
def upload_page(request: Request, node: NodeDep, actor: ActorDep) -> HTMLResponse:
    return render(request, node, actor, "upload.html", max_upload=node.settings.max_upload_bytes)


@router.get("/tasks/{task_id}/fund", response_class=HTMLResponse)
def fund_page(
    task_id: str, request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    from datafair.services.tasks import get_task

    try:
        info = get_task(session, task_id)
        authorize(actor, requester_of(info.requester), "fund this task")
        dev_token = node.run_on_chain(lambda: node.deployment.addresses.get("DevToken", ""))
    except DatafairError as error:
        return error_page(request, node, actor, error)
    finally:
        session.rollback()
    return render(
        request,
        node,
        actor,
        "fund.html",
        info=info,
        task_json=_task_json(info),
        token=info.spec.token or dev_token,
    )


@router.get("/tasks/{task_id}/dashboard", response_class=HTMLResponse)
def dashboard_page(
    task_id: str, request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    from datafair.services.tasks import get_task
    from datafair.services.view_cache import cached_view

    try:
        info = get_task(session, task_id)
        session.rollback()
        authorize(actor, requester_or_operator(info.requester), "read this task's dashboard")
        (data, figures), computed_at = cached_view(
            session,
            "dashboard",
            info.task_id,
            lambda: _dashboard(session, task_id),
            max_stale_s=DASHBOARD_MAX_STALE_S,
        )
    except DatafairError as error:
        return error_page(request, node, actor, error)
    finally:
        session.rollback()
    age_s = max(0, round(time.time() - computed_at))
    return render(
        request,
        node,
        actor,
        "dashboard.html",
        info=info,
        data=data,
        figures=figures,
        age_s=age_s,
        max_stale_s=DASHBOARD_MAX_STALE_S,
    )


def _dashboard(session: Session, task_id: str) -> tuple[Any, dict[str, Any]]:
    """The dashboard's figures and their SVG plots (one inference over every answer)."""
    from datafair.services.dashboard import task_dashboard

    data = task_dashboard(session, task_id)
    figures = {
        "answers": plots.bars_over_time(data.answers_per_hour, "Answers per hour"),
        "alpha": plots.horizontal_bars(
            [("all classes", data.alpha), *data.alpha_per_class],
            "Krippendorff's alpha, overall and per class (one vs rest)",
        ),
        "skills": plots.intervals(
            [(s.contributor, s.accuracy, s.low, s.high, s.spam) for s in data.skills[:40]],
            "Each contributor's inferred accuracy with its 95% credible interval",
        ),
        "confusions": [
            (c.contributor, plots.heatmap(c.classes, c.counts, f"Confusion of {c.contributor}"))
            for c in data.confusions
        ],
    }
    return data, figures


# ----------------------------------------------------------------------------- public


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    node: NodeDep,
    session: SessionDep,
    actor: ActorDep,
    cid: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """Enter a bundle CID: recompute it from its bytes and compare with the chain."""
    from datafair.services import portfolio
    from datafair.services.settlement.audit import AuditMismatch, audit_bundle

    report, failure = None, None
    if cid:
        try:
            data = portfolio.published_bundle_bytes(session, node.blobs, cid.strip())
            session.rollback()
            report = node.with_chain(
                lambda escrow: audit_bundle(
                    data, escrow, expected_cid=cid.strip(), workers=1, history=node.blobs
                )
            )
        except AuditMismatch as mismatch:
            failure = str(mismatch)
        except DatafairError as error:
            failure = str(error)
        finally:
            session.rollback()
    names = ["_audit_result.html"] if request.headers.get("hx-request") else ["audit.html"]
    return render(request, node, actor, names, cid=cid, report=report, failure=failure)


@router.get("/contracts", response_class=HTMLResponse)
def contracts_page(request: Request, node: NodeDep, actor: ActorDep) -> HTMLResponse:
    try:
        deployment = node.run_on_chain(lambda: node.deployment)
        fee = node.with_chain(
            lambda escrow: (escrow.fee_bps(), escrow.max_fee_bps(), escrow.fee_recipient())
        )
    except DatafairError as error:
        return error_page(request, node, actor, error)
    return render(request, node, actor, "contracts.html", deployment=deployment, fee=fee)


@router.get("/totals", response_class=HTMLResponse)
def totals_page(
    request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    from datafair.services.totals import market_totals

    totals = node.with_chain(lambda escrow: market_totals(session, escrow))
    session.rollback()
    return render(request, node, actor, "totals.html", totals=totals)


# ----------------------------------------------------------------------------- market

# A release page shows the gas its last few buys used, read from their receipts by the page.
RECENT_SALES = 5

_MARKET_NUMBERS = {
    "min_items": int,
    "max_items": int,
    "max_price": int,
    "min_agreement": float,
    "min_gold_accuracy": float,
    "min_inferred_accuracy": float,
}
_MARKET_TEXTS = ("q", "modality", "task_type", "license", "language")


def _market_filters(params: Any) -> tuple[Any, dict[str, str], dict[str, str]]:
    """The browse form's values as a :class:`~datafair.services.market.ReleaseFilter`, the
    values to show back, and one message per field that is not a number or out of range."""
    from datafair.core.errors import InvalidInput
    from datafair.services.market import ReleaseFilter

    shown = {name: str(params.get(name, ""))[:200] for name in (*_MARKET_TEXTS, *_MARKET_NUMBERS)}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in _MARKET_TEXTS:
        text = shown[name].strip()
        values["query" if name == "q" else name] = text or None
    for name, kind in _MARKET_NUMBERS.items():
        text = shown[name].strip()
        if not text:
            continue
        try:
            values[name] = kind(text)
        except ValueError:
            errors[name] = f"{name}: {text!r} is not a {'whole ' if kind is int else ''}number"
    filters = ReleaseFilter(**values, listed_only=params.get("listed") == "1")
    try:
        filters.check()
    except InvalidInput as error:
        errors["q" if error.field in (None, "query") else str(error.field)] = str(error)
    return filters, shown, errors


@router.get("/market", response_class=HTMLResponse)
def market_page(
    request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    """Browse and search releases: the same filters and full-text search as the API route."""
    from datafair.services.market import browse

    filters, shown, errors = _market_filters(request.query_params)
    everything = browse(session)
    releases = [] if errors else browse(session, filters)
    session.rollback()
    facets = {
        "modality": sorted({m for r in everything for m in r.modalities}),
        "task_type": sorted({t for r in everything for t in r.task_types}),
        "license": sorted({r.license for r in everything}),
        "language": sorted({lang for r in everything for lang in r.languages}),
    }
    names = ["_market_results.html"] if request.headers.get("hx-request") else ["market.html"]
    return render(
        request,
        node,
        actor,
        names,
        releases=releases,
        shown=shown,
        listed=request.query_params.get("listed") == "1",
        errors=errors,
        facets=facets,
        total=len(everything),
        field_names=["q", *_MARKET_NUMBERS],
    )


def _wallet_page(
    request: Request,
    node: NodeDep,
    session: Session,
    actor: Actor,
    template: str,
    work: Any,
    **context: Any,
) -> HTMLResponse:
    """A page about the signed-in wallet: ``work(market, address)`` runs on the chain's thread
    and its result is the template's ``found`` (``None`` asks for a wallet first)."""
    from datafair.api.routers.market import market_client

    if actor.address is None:
        return render(request, node, actor, template, found=None, **context)
    address = actor.address
    try:
        found = node.run_on_chain(lambda: work(market_client(node), address))
    except DatafairError as error:
        return error_page(request, node, actor, error)
    finally:
        session.rollback()
    return render(request, node, actor, template, found=found, **context)


@router.get("/market/licences", response_class=HTMLResponse)
def licences_page(
    request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    """The licences the signed-in wallet holds, each with a fresh expiring download link."""
    from datafair.api.routers.market import licence_cache
    from datafair.services import market as market_service
    from datafair.services.release_files import download_secret

    settings = node.settings

    def held_with_links(market: Any, address: str) -> list[tuple[Any, Any]]:
        secret = download_secret(settings.home, settings.download_secret)
        return [
            (
                held,
                market_service.issue_download(
                    session,
                    market,
                    held.release.release_id,
                    address,
                    secret=secret,
                    ttl=settings.download_ttl,
                    base_url="/api/v1/market/releases",
                    licences=licence_cache(settings),
                ),
            )
            for held in market_service.licences_held(session, market, address)
        ]

    return _wallet_page(
        request, node, session, actor, "licences.html", held_with_links, now=int(time.time())
    )


@router.get("/market/royalties", response_class=HTMLResponse)
def royalties_page(
    request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    """The signed-in wallet's royalty weight in each release, what it can claim, and claim."""
    from datafair.services import market as market_service

    return _wallet_page(
        request,
        node,
        session,
        actor,
        "royalties.html",
        lambda market, address: market_service.royalties_of(session, market, address),
    )


@router.get("/market/{ref}", response_class=HTMLResponse)
def release_page(
    ref: str, request: Request, node: NodeDep, session: SessionDep, actor: ActorDep
) -> HTMLResponse:
    """One release: its card (as text), licence, price, quality, a sample, and buying."""
    from datafair.api.routers.market import market_client
    from datafair.services.market import get_release

    try:
        info = get_release(session, ref)
        session.rollback()
        token_id = info.token_id
        sales = (
            []
            if token_id is None
            else node.run_on_chain(lambda: market_client(node).sales(token_id))
        )
    except DatafairError as error:
        return error_page(request, node, actor, error)
    finally:
        session.rollback()
    # the buys of this release so far (newest last): the page reads their gas from the receipts
    recent = [sale.tx_hash for sale in sales[-RECENT_SALES:]]
    return render(
        request,
        node,
        actor,
        "release.html",
        info=info,
        sales=len(sales),
        release_json=json.dumps(
            {"release_id": info.release_id, "price": str(info.price), "recent_buys": recent}
        ),
    )
