"""API keys and the audit log (admin). The same service functions as ``vpt keys`` and ``vpt audit``.

Making and revoking a key writes its audit row in the request's transaction. A key made here is answered
once, whole; afterwards only its public id is ever shown.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import event

from app.access.audit import list_entries
from app.access.keys import InvalidKeyRequest, create_key, find_key, key_sources, list_keys, revoke_key
from app.api.access_schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut, AuditEntryOut, AuditPageOut
from app.api.auth import Authenticator, Principal, remote_addr, require_scope
from app.api.deps import SessionDep
from app.api.schemas import INVALID, ErrorBody

router = APIRouter(prefix="/api/v1", tags=["access"])

MAX_ID = 2**63 - 1
AdminPrincipal = Annotated[Principal, Depends(require_scope("admin"))]


@router.get("/keys", response_model=list[ApiKeyOut], responses=INVALID,
            summary="Every API key, revoked ones too (admin); never a secret")
def get_keys(session: SessionDep, _: AdminPrincipal) -> list[ApiKeyOut]:
    bound = key_sources(session)
    return [ApiKeyOut.of(row, bound.get(row.id)) for row in list_keys(session)]


@router.post("/keys", response_model=ApiKeyCreatedOut,
             responses={404: {"model": ErrorBody, "description": "A source in sources does not exist"},
                        409: {"model": ErrorBody, "description": "A source in sources is a file or pull source, "
                              "which takes no pushes"}, **INVALID},
             summary="Make an API key (admin); the answer holds the key, shown this once")
def post_key(
    session: SessionDep, principal: AdminPrincipal, body: ApiKeyIn, request: Request
) -> ApiKeyCreatedOut | JSONResponse:
    try:
        made = create_key(session, name=body.name, scopes=body.scopes, actor=principal.actor,
                          expires_at=body.expires_at, sources=body.sources, remote_addr=remote_addr(request))
    except InvalidKeyRequest as exc:
        message = str(exc).removeprefix(f"{exc.field}: ")
        if exc.status_code != 422:  # a source that is missing (404) or takes no pushes (409), as a push to it would be
            return JSONResponse({"error": exc.code, "detail": message}, status_code=exc.status_code)
        raise RequestValidationError([{"loc": ("body", exc.field), "msg": message, "type": exc.code}]) from None
    return ApiKeyCreatedOut(**ApiKeyOut.of(made.row, made.sources).model_dump(), key=made.key)


@router.delete(
    "/keys/{key}", response_model=ApiKeyOut,
    responses={404: {"model": ErrorBody, "description": "No such key"}, **INVALID},
    summary="Revoke an API key by id or public id (admin); one revoked already is returned as it was",
    description="Takes effect at once in this process and within VPT_AUTH_CACHE_SECONDS (≤ 10 s) in others.",
)
def delete_key(
    session: SessionDep, principal: AdminPrincipal, request: Request,
    key: Annotated[str, Path(pattern=r"^([0-9]{1,19}|[A-Za-z0-9]{8})$", description="Row id or public id")],
) -> ApiKeyOut:
    row = find_key(session, key)
    if row is None:
        raise HTTPException(404, f"no key {key}")
    if revoke_key(session, row, actor=principal.actor, remote_addr=remote_addr(request)):
        authenticator: Authenticator = request.app.state.authenticator
        authenticator.invalidate()
        # Again once the revocation is committed: a request verifying the key meanwhile saw it still valid.
        event.listen(session, "after_commit", lambda _: authenticator.invalidate(), once=True)
    return ApiKeyOut.of(row, key_sources(session, [row.id]).get(row.id))


@router.get("/audit", response_model=AuditPageOut, responses=INVALID,
            summary="The audit log of admin actions, newest first (admin; keyset paged)")
def get_audit(
    session: SessionDep, _: AdminPrincipal,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many rows")] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_before_id of the previous page")] = None,
) -> AuditPageOut:
    page = list_entries(session, limit=limit, before_id=before)
    return AuditPageOut(entries=[AuditEntryOut.of(e) for e in page.entries], next_before_id=page.next_before_id)
