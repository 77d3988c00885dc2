"""API keys: ``vpt_<public id>_<secret>``, scopes, and verification against a salted keyed hash.

A key is ``vpt_`` + an 8-character public id + ``_`` + 43 characters of ``secrets.token_urlsafe(32)`` (256
random bits). The public id finds the row (unique, indexed) and may appear in logs and the audit log; the
secret is shown once, when the key is made, and never stored: the row keeps ``HMAC-SHA256(salt, secret)``
with a random 16-byte salt per key, compared in constant time (``hmac.compare_digest``).

Why not bcrypt, scrypt or Argon2: a slow hash protects *guessable* secrets (passwords) from offline guessing
after a database leak. A 256-bit random secret cannot be guessed however fast the hash is, so a slow hash
would add only latency to every request (tens of milliseconds each, against a goal of ≥ 500 scorecard
requests a second). The salt makes equal secrets hash differently and rules out precomputed tables.

Scopes: ``read``, ``ingest``, ``admin``. ``admin`` implies the other two; ``ingest`` does not imply ``read``
(a pushing platform has no business reading scorecards).

Sources: an ingest key may be bound to the push sources it may write (``api_key_sources``); a push elsewhere is
refused (403). A key bound to none may write every push source, as every ingest key could before bindings
existed. Bindings are fixed when the key is made and outlive a removed source, so a bound key never becomes
unbound; an admin key takes no binding (it may make and remove sources anyway).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast, get_args

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.access.audit import record
from app.db.auth_models import ApiKey
from app.db.models import ApiKeySource, Source
from app.errors import VptError
from app.kpi.records import SOURCE_NAME_PATTERN, SOURCE_NAME_RULE

Scope = Literal["read", "ingest", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
KEY_PREFIX = "vpt_"
PUBLIC_ID_LENGTH = 8
KEY_PATTERN = re.compile(r"^vpt_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_LETTERS = string.ascii_letters
_ALPHANUMERIC = string.ascii_letters + string.digits
#: Compared against when the public id is unknown, so a miss costs the same HMAC as a hit.
_DUMMY_SALT, _DUMMY_HASH = "00" * 16, "00" * 32
LAST_USED_RESOLUTION_SECONDS = 60
_SOURCE_NAME = re.compile(SOURCE_NAME_PATTERN)
MAX_KEY_SOURCES = 100


class InvalidKeyRequest(VptError, ValueError):
    """A key that cannot be made as asked; names the field at fault."""

    code = "invalid_key"
    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownKeySource(InvalidKeyRequest):
    """A key bound to a source that does not exist: the same 404 as a push to it."""

    code = "not_found"
    status_code = 404


class KeySourceKindMismatch(InvalidKeyRequest):
    """A key bound to a file or pull source, which take no pushes: the same 409 as a push to it."""

    code = "source_kind_mismatch"
    status_code = 409


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """What a verified key stands for: enough to authorise a request, nothing secret."""

    id: int
    public_id: str
    name: str
    scopes: frozenset[Scope]
    expires_at: datetime | None
    sources: frozenset[str] | None = None  # the push sources it may write; None: every one


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made. ``key`` is the only copy of the secret there will ever be: show it once."""

    row: ApiKey
    key: str
    sources: list[str] | None = None


Rejection = Literal["malformed", "invalid", "revoked", "expired"]


def grants(scopes: Iterable[str], needed: str) -> bool:
    """Whether a holder of ``scopes`` may do what ``needed`` guards: ``admin`` implies everything."""
    held = set(scopes)
    return needed in held or "admin" in held


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    chosen = {v.strip().lower() for v in values if v.strip()}
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise InvalidKeyRequest("scopes", f"unknown scope {names} (scopes: {', '.join(SCOPES)})")
    if not chosen:
        raise InvalidKeyRequest("scopes", f"give at least one scope ({', '.join(SCOPES)})")
    return frozenset(cast(set[Scope], chosen))


def scopes_of(row: ApiKey) -> frozenset[Scope]:
    return frozenset(cast(list[Scope], row.scopes.split()))


def parse_sources(session: Session, names: Iterable[str] | None, scopes: frozenset[Scope]) -> list[str] | None:
    """The sorted, distinct push sources a new key is bound to, each checked to exist and take pushes."""
    if names is None:
        return None
    chosen = sorted({name.strip() for name in names})
    if not chosen:
        return None
    if "ingest" not in scopes or "admin" in scopes:
        raise InvalidKeyRequest("sources", "only a key with the ingest scope and without admin is bound to sources")
    if len(chosen) > MAX_KEY_SOURCES:
        raise InvalidKeyRequest("sources", f"at most {MAX_KEY_SOURCES} sources")
    for name in chosen:
        if not _SOURCE_NAME.fullmatch(name):
            raise InvalidKeyRequest("sources", f"a source name is {SOURCE_NAME_RULE}")
    kinds = {name: kind for name, kind in session.execute(select(Source.name, Source.kind)
                                                          .where(Source.name.in_(chosen)))}
    for name in chosen:
        if name not in kinds:
            raise UnknownKeySource("sources", f"no source {name!r}: make it first with `vpt sources add {name} "
                                              "--kind push` or POST /api/v1/sources")
        if kinds[name] != "push":
            raise KeySourceKindMismatch("sources", f"source {name!r} is a {kinds[name]} source, which takes no "
                                                   "pushes")
    return chosen


def key_sources(session: Session, key_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """The sources each bound key may write, by key id (of ``key_ids``, or of every key); unbound keys absent."""
    query = select(ApiKeySource.key_id, ApiKeySource.source_name).order_by(ApiKeySource.key_id,
                                                                            ApiKeySource.source_name)
    if key_ids is not None:
        query = query.where(ApiKeySource.key_id.in_(list(key_ids)))
    bound: dict[int, list[str]] = {}
    for key_id, name in session.execute(query):
        bound.setdefault(key_id, []).append(name)
    return bound


def hash_secret(salt_hex: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt_hex), secret.encode(), hashlib.sha256).hexdigest()


def secret_matches(salt_hex: str, secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(salt_hex, secret), stored_hash)


def parse_key(presented: str) -> tuple[str, str] | None:
    """``(public id, secret)`` of a well-formed key, else None."""
    match = KEY_PATTERN.match(presented.strip())
    return (match.group(1), match.group(2)) if match else None


def _new_public_id() -> str:
    # A letter first, so a public id is never all digits and `vpt keys revoke 42` can only mean row 42.
    return secrets.choice(_LETTERS) + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(PUBLIC_ID_LENGTH - 1))


def create_key(
    session: Session, *, name: str, scopes: Iterable[str], actor: str, expires_at: datetime | None = None,
    sources: Iterable[str] | None = None, remote_addr: str | None = None, now: datetime | None = None,
) -> NewKey:
    """Make a key and its audit row (``key.create``). The returned ``key`` is the only copy of the secret.

    ``sources`` binds an ingest key to the push sources it may write (each must exist and be a push source).
    """
    now = now or datetime.now(UTC)
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise InvalidKeyRequest("name", "1–64 letters, digits, spaces or . _ @ : -, starting with a letter or digit")
    chosen = parse_scopes(scopes)
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise InvalidKeyRequest("expires_at", "must be a time in the future, with a time zone")
    bound = parse_sources(session, sources, chosen)
    public_id = _new_public_id()
    while session.scalar(select(ApiKey.id).where(ApiKey.public_id == public_id)) is not None:
        public_id = _new_public_id()  # 62^7 × 52 ids: a collision is rare, but never a crash
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    row = ApiKey(public_id=public_id, name=name, scopes=" ".join(sorted(chosen)), salt=salt,
                 secret_hash=hash_secret(salt, secret), created_at=now, created_by=actor,
                 expires_at=expires_at.astimezone(UTC) if expires_at else None)
    session.add(row)
    session.flush()
    session.add_all(ApiKeySource(key_id=row.id, source_name=source) for source in bound or ())
    record(session, actor=actor, action="key.create", subject=f"key:{public_id}", remote_addr=remote_addr,
           details={"id": row.id, "name": name, "scopes": sorted(chosen),
                    "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                    **({"sources": bound} if bound else {})}, now=now)
    session.flush()
    return NewKey(row=row, key=f"{KEY_PREFIX}{public_id}_{secret}", sources=bound)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def find_key(session: Session, ref: str) -> ApiKey | None:
    """A key by its row id (digits) or its public id."""
    ref = ref.strip()
    if ref.isdigit():
        return session.get(ApiKey, int(ref)) if int(ref) < 2**63 else None
    return session.scalar(select(ApiKey).where(ApiKey.public_id == ref))


def revoke_key(
    session: Session, row: ApiKey, *, actor: str, remote_addr: str | None = None, now: datetime | None = None
) -> bool:
    """Revoke a key and write ``key.revoke``. False (and no audit row) when it was revoked already."""
    if row.revoked_at is not None:
        return False
    now = now or datetime.now(UTC)
    row.revoked_at, row.revoked_by = now, actor
    record(session, actor=actor, action="key.revoke", subject=f"key:{row.public_id}", remote_addr=remote_addr,
           details={"id": row.id, "name": row.name}, now=now)
    session.flush()
    return True


def verify(session: Session, presented: str, now: datetime) -> KeyIdentity | Rejection:
    """Look the key up by its public id and check its secret, revocation and expiry."""
    parsed = parse_key(presented)
    if parsed is None:
        return "malformed"
    public_id, secret = parsed
    row = session.scalar(select(ApiKey).where(ApiKey.public_id == public_id))
    if row is None:
        secret_matches(_DUMMY_SALT, secret, _DUMMY_HASH)
        return "invalid"
    if not secret_matches(row.salt, secret, row.secret_hash):
        return "invalid"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    scopes = scopes_of(row)
    sources = None
    if "ingest" in scopes and "admin" not in scopes:  # only such a key can be bound: no extra read for the rest
        bound = key_sources(session, [row.id]).get(row.id)
        sources = frozenset(bound) if bound else None
    return KeyIdentity(id=row.id, public_id=row.public_id, name=row.name, scopes=scopes, expires_at=row.expires_at,
                       sources=sources)


def touch_last_used(session: Session, key_id: int, now: datetime) -> None:
    """Set ``last_used_at`` unless it is already less than a minute old (one conditional UPDATE).

    The condition keeps any number of API processes from writing more than about once a minute per key.
    """
    cutoff = now.timestamp() - LAST_USED_RESOLUTION_SECONDS
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id,
               or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < datetime.fromtimestamp(cutoff, UTC)))
        .values(last_used_at=now)
    )
