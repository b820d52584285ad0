"""The web app: server-rendered pages (Jinja2 + htmx, small plain JavaScript) served by the
same FastAPI app as the JSON API (:func:`datafair.api.app.create_app` loads :func:`register`).

Static files (``/static``) are this package's own CSS and scripts plus the vendored, pinned
libraries in ``static/vendor`` (see its ``VENDOR.json`` and ``LICENSES``; rebuilt from npm by
``scripts/vendor_web_assets.py``). Nothing is loaded from a CDN: the pages work offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


def _problem_page(request: Request, body: dict[str, Any]) -> HTMLResponse:
    """HTML for an API problem when a browser asked for a page (``Accept: text/html``)."""
    from datafair.web.pages import TEMPLATES

    template = TEMPLATES.env.get_template("error.html")
    config = {"address": None, "chain_id": 0, "rpc_url": "/rpc", "explorer": None}
    html = template.render(
        request=request,
        actor=None,
        config=config,
        config_json="{}",
        problem=body,
    )
    return HTMLResponse(html, status_code=int(body["status"]))


def register(app: FastAPI) -> None:
    """Mount the pages and their static files on ``app``."""
    from datafair.web.pages import router

    # the pages' board replaces the API-only root (a redirect to /docs)
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != "/"]
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(router)
    app.state.error_page = _problem_page
