"""Domain errors → RFC 9457 ``application/problem+json`` responses, in this one place.

Every error a request can meet leaves the server here: the domain errors of
:mod:`datafair.core.errors` (their HTTP status is chosen below, never in ``core``), the request
validation errors FastAPI raises (malformed JSON, a missing or mistyped field), Starlette's
HTTP errors (unknown route, wrong method) and, as a last resort, an unexpected exception (500,
its traceback logged, never sent).

A problem document has the RFC 9457 members ``type``, ``title``, ``status`` and ``detail``, and
two extension members: ``field`` (the input that is wrong, e.g. ``task_id`` or
``submissions[3].signature``) and ``fix`` (what to do instead), when they are known.

A browser asking for HTML (``Accept: text/html`` before JSON) gets the page rendered by
``app.state.error_page`` when a page layer installed one (``datafair.web``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from datafair.core.errors import (
    ChainError,
    Conflict,
    DatafairError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SignatureError,
    Unauthenticated,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://datafair.dev/problems/"
log = logging.getLogger("datafair.api")

# most specific first: the first class an error is an instance of decides
STATUS: tuple[tuple[type[DatafairError], int, str], ...] = (
    (RateLimited, 429, "rate-limited"),
    (Unauthenticated, 401, "unauthenticated"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (InvalidInput, 422, "invalid-input"),
    (SignatureError, 422, "bad-signature"),
    (ChainError, 502, "chain-error"),
    (DatafairError, 400, "bad-request"),
)
TITLES = {
    "rate-limited": "Too many requests",
    "unauthenticated": "Not signed in",
    "forbidden": "Not allowed",
    "not-found": "Not found",
    "conflict": "Conflicts with the stored state",
    "invalid-input": "Invalid input",
    "bad-signature": "Signature does not verify",
    "chain-error": "The chain refused or failed",
    "bad-request": "Bad request",
    "too-large": "Request body too large",
    "unsupported-media-type": "Unsupported media type",
    "internal": "Internal server error",
}
_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]-]{0,80}): ")


class Problem(BaseModel):
    """An RFC 9457 problem document, with datafair's ``field`` and ``fix`` members."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    fix: str | None = None


def _documented(status: int, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
    }


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented(400, "Bad request"),
    401: _documented(401, "Not signed in, or the session expired"),
    403: _documented(403, "The account may not do this"),
    404: _documented(404, "Unknown task, item, dataset, bundle or route"),
    409: _documented(409, "Conflicts with the stored state (replay, full item, closed task)"),
    413: _documented(413, "Request body too large"),
    422: _documented(422, "Invalid input: the problem names the field and the fix"),
    429: _documented(429, "Too many requests from this account"),
    502: _documented(502, "The chain refused or failed"),
}
"""The problem responses every API route documents (the OpenAPI document lists them)."""


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    field: str | None = None,
    fix: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A problem document (RFC 9457) as a dict."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": TITLES.get(kind, kind),
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if fix is not None:
        body["fix"] = fix
    if extra:
        body.update(extra)
    return body


def problem_of(error: DatafairError, *, field_prefix: str = "") -> dict[str, Any]:
    """The problem document of a domain error; ``field_prefix`` (e.g. ``submissions[3].``)
    locates the field inside a batch."""
    status, kind = 400, "bad-request"
    for cls, code, name in STATUS:
        if isinstance(error, cls):
            status, kind = code, name
            break
    field: str | None
    fix: str | None = None
    if isinstance(error, InvalidInput):
        field, fix = error.field, error.fix
    else:
        match = _FIELD_PREFIX.match(str(error))
        field = match.group(1) if match else None
    if field is not None:
        field = field_prefix + field
    return problem(status, kind, str(error), field=field, fix=fix)


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    html, json = accept.find("text/html"), accept.find("json")
    return html >= 0 and (json < 0 or html < json)


def _render(request: Request, body: dict[str, Any], headers: dict[str, str] | None) -> Response:
    page: Callable[[Request, dict[str, Any]], Response] | None = getattr(
        request.app.state, "error_page", None
    )
    if page is not None and _wants_html(request):
        return page(request, body)
    return problem_response(body, headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or str(loc[0] if loc else "body")


def _validation_problem(error: RequestValidationError) -> dict[str, Any]:
    errors = error.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid", "type": "value_error"}
    loc = tuple(first.get("loc", ("body",)))
    if first.get("type") == "json_invalid":
        return problem(
            422,
            "invalid-input",
            f"body: malformed JSON ({first.get('msg', 'invalid')})",
            field="body",
            fix="send a JSON document",
        )
    field = _location(loc)
    message = str(first.get("msg", "invalid"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem(
        422,
        "invalid-input",
        f"{field}: {message}{more}",
        field=field,
        fix="see the request schema in /openapi.json",
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    @app.exception_handler(DatafairError)
    async def domain_error(request: Request, error: DatafairError) -> Response:
        body = problem_of(error)
        headers = {"Retry-After": "60"} if isinstance(error, RateLimited) else None
        if isinstance(error, Unauthenticated):
            headers = {"WWW-Authenticate": 'Bearer realm="datafair"'}
        return _render(request, body, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        return _render(request, _validation_problem(error), None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        kind = {
            404: "not-found",
            405: "bad-request",
            413: "too-large",
            415: "unsupported-media-type",
        }.get(error.status_code, "bad-request")
        detail = str(error.detail)
        if error.status_code == 404 and detail == "Not Found":
            detail = f"path: no route {request.url.path} (see /docs)"
        body = problem(
            error.status_code, kind, detail, field="path" if kind == "not-found" else None
        )
        return _render(request, body, dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = problem(500, "internal", f"unexpected {type(error).__name__} (see the server log)")
        return problem_response(body)
