"""Typed dependencies of the handlers, all from the one context the lifespan built.

* ``NodeDep``: the worker's :class:`~datafair.api.context.ServerContext` (database, blobs,
  keystore, chain, escrow, settings);
* ``SessionDep``: a database session, closed after the request (the services commit);
* ``ActorDep``: who is calling, from the bearer token (``Authorization: Bearer ...``, for
  programs) or the ``datafair_session`` cookie (HttpOnly, SameSite=Lax, for browsers); an
  anonymous ``Actor`` when neither is sent. A token that is unknown, expired or revoked is a 401
  rather than a silent downgrade to anonymous.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from datafair.api.context import ServerContext
from datafair.api.policies import ANONYMOUS, Actor
from datafair.services.auth import session_address

SESSION_COOKIE = "datafair_session"


def get_node(request: Request) -> ServerContext:
    node: ServerContext = request.app.state.node
    return node


NodeDep = Annotated[ServerContext, Depends(get_node)]


def get_session(node: NodeDep) -> Iterator[Session]:
    with node.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def session_token(request: Request) -> str | None:
    """The bearer token of the request, from the Authorization header or the cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie or None


def get_actor(request: Request, node: NodeDep, session: SessionDep) -> Actor:
    token = session_token(request)
    if token is None:
        return ANONYMOUS
    address = session_address(session, token)
    session.rollback()  # end the read transaction before the handler's service starts its own
    return Actor(address, address.lower() in node.settings.operator_addresses)


ActorDep = Annotated[Actor, Depends(get_actor)]
