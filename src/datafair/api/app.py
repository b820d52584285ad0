"""The FastAPI application factory: ``create_app(settings)``.

The app serves the versioned JSON API under ``/api/v1`` (one router per resource, see
:mod:`datafair.api.routers`), the embedded chain over JSON-RPC at ``/rpc``, ``/health``
(the process answers) and ``/ready`` (the database answers and is migrated to head), the OpenAPI
3.1 document at ``/openapi.json`` and Swagger UI at ``/docs``, whose assets come from the
installed ``fastapi-offline`` package (no CDN: the docs work with no internet).

Each worker process builds one :class:`~datafair.api.context.ServerContext` in the lifespan and
closes it at shutdown. Requests pass two ASGI middlewares: a body size limit (JSON bodies
``max_body_bytes``, dataset uploads ``max_upload_bytes``; a larger body is refused with a 413
problem before it is read) and a structured access log (one JSON object per request on the
``datafair.access`` logger: method, path, status, duration, client).

Extensions (the web pages of ``datafair.web``, market routes) are functions ``(app) -> None``
passed as ``extensions``; :data:`DEFAULT_EXTENSIONS` names those loaded when importable.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datafair import __version__
from datafair.api import problems
from datafair.api.context import ServerContext
from datafair.api.deps import NodeDep
from datafair.api.routers import (
    assignments,
    auth,
    contributions,
    datasets,
    delegations,
    market,
    me,
    public,
    reviews,
    settlement,
    tasks,
)
from datafair.api.schemas import HealthOut, ReadyOut
from datafair.settings import Settings

API_PREFIX = "/api/v1"
Extension = Callable[[FastAPI], None]
DEFAULT_EXTENSIONS = ("datafair.web:register",)
WARM_MODULES = (
    "siwe",  # sign-in (and web3 with it)
    "eth_account.messages",
    "datafair.services.intake",
    "datafair.services.submissions",
)
"""Imported when a serving process starts, before its long-lived objects are frozen."""
access_log = logging.getLogger("datafair.access")

DESCRIPTION = """\
The datafair marketplace over HTTP. Sign in with your wallet (EIP-4361: `GET /api/v1/auth/nonce`,
sign the message, `POST /api/v1/auth/sign-in`), then use the bearer token (or the session
cookie). Every answer and review is an EIP-712 signature made by your own wallet: `next`
returns the `eth_signTypedData_v4` JSON to sign. Errors are RFC 9457 problem documents naming
the `field` and the `fix`.
"""


class BodyLimit:
    """Refuse request bodies above a limit (413 problem), by header or while streaming."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def _limit(self, scope: Scope) -> int:
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        return self.upload_limit if content_type.startswith("multipart/") else self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = json.dumps(
            problems.problem(
                413,
                "too-large",
                f"body: larger than {limit} bytes",
                field="body",
                fix="send smaller requests (batches of at most 1000 entries)",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", problems.PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class AccessLog:
    """One JSON line per request on the ``datafair.access`` logger."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info(
                    json.dumps(
                        {
                            "method": scope.get("method"),
                            "path": scope.get("path"),
                            "status": status,
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                            "client": f"{client[0]}:{client[1]}" if client else None,
                        }
                    )
                )


def _load_extensions(names: Iterable[str]) -> list[Extension]:
    found: list[Extension] = []
    for name in names:
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name and module_name.startswith(missing.name):
                continue  # the extension is not part of this installation
            raise
        register = getattr(module, attribute, None)
        if callable(register):
            found.append(register)
    return found


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", summary="The process answers", response_model=HealthOut)
    def health() -> HealthOut:
        return HealthOut(status="ok", version=__version__)

    @router.get(
        "/ready",
        summary="The database answers and is migrated to the latest revision",
        response_model=ReadyOut,
        responses={503: {"model": ReadyOut}},
    )
    def ready(node: NodeDep) -> Any:
        from starlette.responses import JSONResponse

        from datafair.store.migrations import current_revision, head_revision

        try:
            with node.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            current = current_revision(node.db.engine)
        except Exception as error:  # the database is down: not ready
            body = ReadyOut(status="unavailable", database=type(error).__name__, migrations="?")
            return JSONResponse(body.model_dump(), status_code=503)
        head = head_revision()
        state = "ok" if current == head else "behind"
        body = ReadyOut(status=state, database=node.db.dialect, migrations=str(current))
        return JSONResponse(body.model_dump(), status_code=200 if state == "ok" else 503)

    return router


def _docs(app: FastAPI) -> None:
    import fastapi_offline

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="datafair API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")


def freeze_long_lived() -> None:
    """Load the modules a serving process loads on its first requests (:data:`WARM_MODULES`),
    then move every object alive so far out of the garbage collector's sight (``gc.freeze``):
    they live as long as the process, and a full collection walking them paused every request
    in flight for 100-260 ms (24-31 ms once they are frozen, measured in the server)."""
    for module in WARM_MODULES:
        importlib.import_module(module)
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings,
    *,
    context: ServerContext | None = None,
    extensions: Iterable[Extension] | None = None,
    server_process: bool = False,
) -> FastAPI:
    """The datafair server app over ``settings`` (see the module docstring).

    ``context`` replaces the lifespan-built one (tests); ``extensions`` default to the
    importable :data:`DEFAULT_EXTENSIONS`. ``server_process``: the app is the process's one
    app (``datafair serve``), so its start may freeze the process's long-lived objects.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        node = context if context is not None else ServerContext(settings)
        app.state.node = node
        node.db  # open (and migrate) before the first request  # noqa: B018
        if server_process:
            freeze_long_lived()
        try:
            yield
        finally:
            if context is None:
                node.close()

    app = FastAPI(
        title="datafair",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX, responses=problems.RESPONSES)
    # routes are matched in order, one by one: the hot path (signed submissions, next items)
    # comes first
    for module in (
        contributions,
        auth,
        datasets,
        tasks,
        assignments,
        delegations,
        reviews,
        me,
        settlement,
        public,
        market,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health_router())
    from datafair.api import rpc

    app.include_router(rpc.router)
    _docs(app)
    chosen = list(extensions) if extensions is not None else _load_extensions(DEFAULT_EXTENSIONS)
    for extend in chosen:
        extend(app)
    app.add_middleware(AccessLog)
    app.add_middleware(
        BodyLimit, json_limit=settings.max_body_bytes, upload_limit=settings.max_upload_bytes
    )
    return app
