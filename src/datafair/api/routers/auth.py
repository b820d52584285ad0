"""Sign-in with Ethereum: nonce, sign-in, sign-out, who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from datafair.api.deps import SESSION_COOKIE, ActorDep, NodeDep, SessionDep, session_token
from datafair.api.schemas import MeOut, NonceOut, SessionOut, SignInIn
from datafair.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])
STATEMENT = "Sign in to datafair."


def expected_domain(request: Request, node: NodeDep) -> str:
    """The domain a sign-in message must name: the setting, else the request's Host."""
    return node.settings.siwe_domain or request.headers.get("host", "")


@router.get("/nonce", summary="A single-use nonce for a sign-in message", response_model=NonceOut)
def nonce(request: Request, node: NodeDep, session: SessionDep) -> NonceOut:
    grant = auth.issue_nonce(session, ttl_s=node.settings.nonce_ttl_s)
    domain = expected_domain(request, node)
    return NonceOut(
        nonce=grant.nonce,
        expires_at=grant.expires_at,
        domain=domain,
        uri=f"{request.url.scheme}://{domain}",
        chain_id=node.settings.chain_id,
        statement=STATEMENT,
    )


@router.post(
    "/sign-in", summary="Sign in with a signed EIP-4361 message", response_model=SessionOut
)
def sign_in(
    body: SignInIn, request: Request, response: Response, node: NodeDep, session: SessionDep
) -> SessionOut:
    contract_check = None
    if node.settings.rpc_url is not None:
        from datafair.api.wallets import eip1271_check

        contract_check = eip1271_check(node)
    grant = auth.sign_in(
        session,
        body.message,
        body.signature,
        domain=expected_domain(request, node),
        chain_id=node.settings.chain_id,
        session_ttl_s=node.settings.session_ttl_s,
        contract_check=contract_check,
    )
    response.set_cookie(
        SESSION_COOKIE,
        grant.token,
        max_age=node.settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return SessionOut(
        token=grant.token,
        address=grant.address,
        chain_id=grant.chain_id,
        expires_at=grant.expires_at,
    )


@router.post("/sign-out", summary="Revoke the current session", status_code=204)
def sign_out(request: Request, session: SessionDep) -> Response:
    token = session_token(request)
    if token is not None:
        auth.sign_out(session, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", summary="Who the session belongs to", response_model=MeOut)
def me(actor: ActorDep) -> MeOut:
    return MeOut(address=actor.address, operator=actor.operator)
