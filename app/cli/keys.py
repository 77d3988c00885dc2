"""``vpt keys`` (create, list, revoke API keys) and ``vpt audit`` (the audit log of admin actions).

Whoever can run these can reach the database, which is the root of trust: the commands need no key, and
the audit log names them ``cli:<os user>``. A new key is printed once, on standard output (so a script can
capture it); it is stored only as a salted hash and cannot be shown again.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from app.access.audit import list_entries
from app.access.keys import SCOPES, InvalidKeyRequest, create_key, find_key, key_sources, list_keys, revoke_key
from app.cli.alerts import local
from app.cli.base import app, cli_actor, console, errors, fail, load_settings, session_factory
from app.cli.wording import current_lang, say
from app.db.session import transaction
from app.kpi.glossary import cli_title
from app.sanitize import for_terminal as escape  # markup escaped and control characters shown

keys_app = typer.Typer(help="API-nycklar: skapa (visas en gång), lista, återkalla.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

EXPIRY = re.compile(r"^(?P<n>\d+)(?P<unit>[dhw])$")
MAX_EXPIRY = timedelta(days=3660)


def parse_expiry(text: str, now: datetime) -> datetime:
    """``90d``, ``12h``, ``4w`` from now, or an ISO date or time (a date means its start, UTC)."""
    match = EXPIRY.match(text.strip().lower())
    if match:
        n = int(match["n"])
        length = {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[match["unit"]]
        if not length or length > MAX_EXPIRY:
            raise ValueError(say("expiry.range"))
        return now + length
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(say("expiry.form", text=text)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@keys_app.command("create", help="Skapa en API-nyckel och skriv ut den en gång. admin ger read och ingest; ingest "
                  "ger inte read. En ingest-nyckel bunden med --source får bara skicka till de källorna (var och en "
                  "måste finnas: `vpt sources add NAMN --kind push`); en utan får skicka till varje push-källa.")
def create_command(
    name: Annotated[str, typer.Option("--name", help="Vem eller vad nyckeln är till, t.ex. platform-norra")],
    scopes: Annotated[list[str], typer.Option("--scope", help=f"En av {', '.join(SCOPES)}; upprepa för fler")],
    expires: Annotated[str | None, typer.Option("--expires", help="90d, 12h, 4w eller ett ISO-datum; utan: "
                                                "upphör aldrig")]
    = None,
    sources: Annotated[list[str] | None, typer.Option(
        "--source", help="En push-källa som ingest-nyckeln får skriva till (upprepa för fler); utan: alla")]
    = None,
) -> None:
    now = datetime.now(UTC)
    try:
        expires_at = parse_expiry(expires, now) if expires is not None else None
    except ValueError as exc:
        raise fail(str(exc), param="--expires") from None
    try:
        with transaction(session_factory(load_settings())) as session:
            made = create_key(session, name=name, scopes=scopes, actor=cli_actor(), expires_at=expires_at,
                              sources=sources, now=now)
            row = made.row
    except InvalidKeyRequest as exc:
        option = {"name": "--name", "scopes": "--scope", "expires_at": "--expires", "sources": "--source"}.get(
            exc.field, exc.field)
        raise fail(str(exc).removeprefix(f"{exc.field}: "), param=option) from None
    bound = say("key.bound", sources=escape(", ".join(made.sources))) if made.sources else ""
    errors.print(say("key.made", id=row.id, public_id=row.public_id, name=escape(row.name), scopes=row.scopes,
                     bound=bound, expires=local(row.expires_at) if row.expires_at else say("never")),
                 highlight=False)
    errors.print(say("key.once"), highlight=False)
    console.print(made.key, markup=False, highlight=False, soft_wrap=True)


@keys_app.command("list", help="Varje nyckel: id, publikt id, namn, behörigheter, källor den får skriva till, "
                  "skapad, senast använd, upphör, återkallad. Aldrig en hemlighet.")
def list_command() -> None:
    now = datetime.now(UTC)
    with session_factory(load_settings())() as session:
        rows = list_keys(session)
        bound = key_sources(session)
    table = Table(title=cli_title("api_keys", current_lang()))
    for i, header in enumerate(say("keys.headers").split("|")):
        table.add_column(header, justify="right" if i == 0 else "left")
    for row in rows:
        expired = row.expires_at is not None and row.expires_at <= now
        pushes = say("key.any_push") if {"ingest", "admin"} & set(row.scopes.split()) else ""
        writes = escape(", ".join(bound[row.id])) if row.id in bound else pushes
        table.add_row(str(row.id), row.public_id, escape(row.name), row.scopes, writes,
                      local(row.created_at),
                      escape(row.created_by), local(row.last_used_at),
                      ("[red]" if expired else "") + (local(row.expires_at) if row.expires_at else say("never")),
                      f"[red]{local(row.revoked_at)}[/] {escape(row.revoked_by or '')}" if row.revoked_at
                      else say("no"))
    console.print(table)
    if not rows:
        console.print(say("keys.none"), highlight=False)


@keys_app.command("revoke", help="Återkalla en nyckel. API-processerna slutar godta den inom "
                  "VPT_AUTH_CACHE_SECONDS (≤ 10 s).")
def revoke_command(key: Annotated[str, typer.Argument(help="Nyckelns ID eller publika id")]) -> None:
    with transaction(session_factory(load_settings())) as session:
        row = find_key(session, key)
        if row is None:
            raise fail(say("key.unknown", key=key))
        revoked = revoke_key(session, row, actor=cli_actor())
        public_id, when = row.public_id, row.revoked_at
    if revoked:
        console.print(say("key.revoked", id=row.id, public_id=public_id, when=local(when)), highlight=False)
    else:
        console.print(say("key.was_revoked", id=row.id, public_id=public_id, when=local(when)), highlight=False)


@app.command("audit", help="Granskningsloggen över administrativa ändringar (mål, nycklar, tystnader), nyaste "
             "först. Tider i svensk tid.")
def audit_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Högst så här många rader")] = 50,
) -> None:
    with session_factory(load_settings())() as session:
        page = list_entries(session, limit=limit)
    table = Table(title=cli_title("audit_log", current_lang()))
    for i, header in enumerate(say("audit.headers").split("|")):
        table.add_column(header, justify="right" if i == 0 else "left")
    for entry in page.entries:
        details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True) if entry.details else ""
        table.add_row(str(entry.id), local(entry.at), escape(entry.actor), entry.action, escape(entry.subject),
                      escape(entry.remote_addr or "cli"), escape(details))
    console.print(table)
    if not page.entries:
        console.print(say("audit.none"))
    elif page.next_before_id is not None:
        console.print(say("audit.newest", limit=limit), style="dim")
