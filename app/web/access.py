"""Who is looking at a page: the public (``VPT_PUBLIC_READ``), or the holder of a signed-in session.

The same keys as the API (``app.access.keys``): signing in verifies the presented key exactly as the API does
and needs the ``read`` scope (``admin`` implies it). A session is re-checked against its key on every page, so
revoking or expiring the key ends the session at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.keys import grants, scopes_of, verify
from app.config import Settings
from app.db.auth_models import ApiKey
from app.sanitize import clean
from app.web.session import decode_session

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Viewer:
    name: str
    key_id: str | None  # None: the public, with public reads on
    signed_in: bool


PUBLIC_VIEWER = Viewer(name="public", key_id=None, signed_in=False)


def _usable(row: ApiKey | None, now: datetime) -> bool:
    if row is None or row.revoked_at is not None:
        return False
    if row.expires_at is not None and row.expires_at <= now:
        return False
    return grants(scopes_of(row), "read")


def viewer_of(session: Session, settings: Settings, cookie: str | None) -> Viewer | None:
    """The signed-in viewer, the public when reads are public, or None: sign in first."""
    web_session = decode_session(settings, cookie)
    if web_session is not None:
        row = session.scalars(select(ApiKey).where(ApiKey.public_id == web_session.key_id)).one_or_none()
        if row is not None and _usable(row, datetime.now(UTC)):
            return Viewer(name=clean(row.name, 64), key_id=row.public_id, signed_in=True)
    return PUBLIC_VIEWER if settings.public_read else None


def sign_in(session: Session, presented: str) -> tuple[ApiKey | None, str]:
    """The key's row when it may read, else None and why not (``malformed``, ``invalid``, ``revoked``,
    ``expired`` as the API says, or ``scope``)."""
    outcome = verify(session, presented.strip(), datetime.now(UTC))
    if isinstance(outcome, str):
        log.info("web.login.rejected", extra={"reason": outcome})
        return None, outcome
    if not grants(outcome.scopes, "read"):
        log.info("web.login.rejected", extra={"reason": "scope", "key": outcome.public_id})
        return None, "scope"
    row = session.get(ApiKey, outcome.id)
    log.info("web.login", extra={"key": outcome.public_id})
    return row, "ok"
