"""Typed dependencies of the handlers, all from the one context the lifespan built.

* ``NodeDep``: the worker's :class:`~datafair.api.context.ServerContext` (database, blobs,
  keystore, chain, escrow, settings);
* ``SessionDep``: a database session, closed after the request (the services commit);
* ``ActorDep``: who is calling, from the bearer token (``Authorization: Bearer ...``, for
  programs) or the ``datafair_session`` cookie (HttpOnly, SameSite=Lax, for browsers); an
  anonymous ``Actor`` when neither is sent. A token that is unknown, expired or revoked is a 401
  rather than a silent downgrade to anonymous.

Thread hops are the fixed cost of a request (a sync dependency runs on the thread pool, a
generator one twice): ``get_node`` is a plain coroutine, and ``get_actor`` looks the token up in
one hop with its own short read-only session. The single submission needs neither: it is a
coroutine that hands its token and its policy check to the group commit's writer thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from datafair.api.context import ServerContext
from datafair.api.policies import ANONYMOUS, Actor
from datafair.services.auth import session_address
from datafair.store.db import begin_read

SESSION_COOKIE = "datafair_session"


async def get_node(request: Request) -> ServerContext:
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


def actor_for(address: str | None, operators: frozenset[str]) -> Actor:
    """The caller signed in as ``address`` (anonymous for ``None``)."""
    if address is None:
        return ANONYMOUS
    return Actor(address, address.lower() in operators)


def _signed_in_actor(node: ServerContext, token: str) -> Actor:
    with node.db.session() as session:
        begin_read(session)  # a snapshot read: it never waits for a writer's commit
        try:
            address = session_address(session, token)
        finally:
            session.rollback()
    return actor_for(address, node.settings.operator_addresses)


async def get_actor(request: Request, node: NodeDep) -> Actor:
    token = session_token(request)
    if token is None:
        return ANONYMOUS
    return await run_in_threadpool(_signed_in_actor, node, token)


ActorDep = Annotated[Actor, Depends(get_actor)]
