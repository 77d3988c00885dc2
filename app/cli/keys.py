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
from app.db.session import transaction
from app.kpi.glossary import cli_title
from app.sanitize import for_terminal as escape  # markup escaped and control characters shown

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
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
            raise ValueError("must be longer than zero and at most ten years")
        return now + length
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"must be a duration like 90d, 12h or 4w, or an ISO date or time, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@keys_app.command("create")
def create_command(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for, e.g. platform-norra")],
    scopes: Annotated[list[str], typer.Option("--scope", help=f"One of {', '.join(SCOPES)}; repeat for more")],
    expires: Annotated[str | None, typer.Option("--expires", help="90d, 12h, 4w or an ISO date; never if left out")]
    = None,
    sources: Annotated[list[str] | None, typer.Option(
        "--source", help="A push source the ingest key may write (repeat for more); every push source if left out")]
    = None,
) -> None:
    """Make an API key and print it once. admin implies read and ingest; ingest does not imply read.

    An ingest key bound with --source may push only to those sources (each must exist: `vpt sources add NAME
    --kind push`); one without may push to every push source.
    """
    now = datetime.now(UTC)
    try:
        expires_at = parse_expiry(expires, now) if expires is not None else None
    except ValueError as exc:
        raise fail(f"--expires: {exc}") from None
    try:
        with transaction(session_factory(load_settings())) as session:
            made = create_key(session, name=name, scopes=scopes, actor=cli_actor(), expires_at=expires_at,
                              sources=sources, now=now)
            row = made.row
    except InvalidKeyRequest as exc:
        option = {"name": "--name", "scopes": "--scope", "expires_at": "--expires", "sources": "--source"}.get(
            exc.field, exc.field)
        raise fail(f"{option}: {str(exc).removeprefix(f'{exc.field}: ')}") from None
    bound = f", may write {escape(', '.join(made.sources))}" if made.sources else ""
    errors.print(f"key {row.id} ({row.public_id}) '{escape(row.name)}', scopes {row.scopes}{bound}, "
                 f"expires {local(row.expires_at) if row.expires_at else 'never'}", highlight=False)
    errors.print("[yellow]warning[/yellow] this is the only time the key is shown: it is stored only as a salted "
                 "hash and cannot be shown again. Keep it in a secret store.", highlight=False)
    console.print(made.key, markup=False, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_command() -> None:
    """Every key: id, public id, name, scopes, sources it may write, created, last used, expiry, revoked. Never a
    secret."""
    now = datetime.now(UTC)
    with session_factory(load_settings())() as session:
        rows = list_keys(session)
        bound = key_sources(session)
    table = Table(title=cli_title("api_keys"))
    for header in ("ID", "Publikt ID", "Namn", "Behörigheter", "Källor", "Skapad", "Av", "Senast använd", "Upphör",
                   "Återkallad"):
        table.add_column(header, justify="right" if header == "ID" else "left")
    for row in rows:
        expired = row.expires_at is not None and row.expires_at <= now
        pushes = "any push" if {"ingest", "admin"} & set(row.scopes.split()) else ""
        writes = escape(", ".join(bound[row.id])) if row.id in bound else pushes
        table.add_row(str(row.id), row.public_id, escape(row.name), row.scopes, writes,
                      local(row.created_at),
                      escape(row.created_by), local(row.last_used_at),
                      ("[red]" if expired else "") + (local(row.expires_at) if row.expires_at else "never"),
                      f"[red]{local(row.revoked_at)}[/] {escape(row.revoked_by or '')}" if row.revoked_at else "no")
    console.print(table)
    if not rows:
        console.print("no keys: `vpt keys create --name NAME --scope read` makes one")


@keys_app.command("revoke")
def revoke_command(key: Annotated[str, typer.Argument(help="The key's ID or public id")]) -> None:
    """Revoke a key. API processes stop accepting it within VPT_AUTH_CACHE_SECONDS (≤ 10 s)."""
    with transaction(session_factory(load_settings())) as session:
        row = find_key(session, key)
        if row is None:
            raise fail(f"no key {key!r}")
        revoked = revoke_key(session, row, actor=cli_actor())
        public_id, when = row.public_id, row.revoked_at
    if revoked:
        console.print(f"key {row.id} ({public_id}) revoked at {local(when)}", highlight=False)
    else:
        console.print(f"key {row.id} ({public_id}) had already been revoked at {local(when)}", highlight=False)


@app.command("audit")
def audit_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many rows")] = 50,
) -> None:
    """The audit log of admin actions (targets, keys, silences), newest first. Times in Europe/Stockholm."""
    with session_factory(load_settings())() as session:
        page = list_entries(session, limit=limit)
    table = Table(title=cli_title("audit_log"))
    for header in ("ID", "Tid", "Utförd av", "Åtgärd", "Gäller", "Från", "Detaljer"):
        table.add_column(header, justify="right" if header == "ID" else "left")
    for entry in page.entries:
        details = json.dumps(entry.details, ensure_ascii=False, sort_keys=True) if entry.details else ""
        table.add_row(str(entry.id), local(entry.at), escape(entry.actor), entry.action, escape(entry.subject),
                      escape(entry.remote_addr or "cli"), escape(details))
    console.print(table)
    if not page.entries:
        console.print("no admin actions recorded yet")
    elif page.next_before_id is not None:
        console.print(f"newest {limit} shown (--limit)", style="dim")
