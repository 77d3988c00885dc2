"""``vpt alerts`` and ``vpt silences``: what is firing, what changed, who was told, and muting (SPEC §8).

The same read functions as the API (``app.alerts.queries``) and the same silence service
(``app.alerts.silences``). Times are shown in Europe/Stockholm, where the people reading them are; the API
speaks UTC. Exit 0 on success, 1 with a message naming the option at fault. A value is shown beside its threshold
precisely enough that two different numbers never read the same (7 min 1 s / 7 min, not 7 min / 7 min).

``alerts_app`` is the sub-app other commands (evaluate, deliver) register on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from app.alerts.queries import DeliverySummary, alert_history, list_alerts, list_notifications
from app.alerts.silences import SilenceError, SilenceRequest, create_silence, expire_silence, list_silences
from app.cli.base import app, cli_actor, console, fail, load_settings, os_user, session_factory
from app.db.alert_models import NOTIFICATION_STATUSES, AlertEvent, AlertSilence
from app.db.session import transaction
from app.kpi.catalog import spec_of
from app.kpi.glossary import cli_title
from app.kpi.localtime import STOCKHOLM
from app.sanitize import for_terminal

alerts_app = typer.Typer(help="Built-in alerts: state, history and the notification outbox.", no_args_is_help=True)
silences_app = typer.Typer(help="Mute alerts of a rule or a scope for a while.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
app.add_typer(silences_app, name="silences")

PHASE_STYLE = {"firing": "bold red", "pending": "yellow", "resolved": "green", "inactive": "dim"}
STATUS_STYLE = {"delivered": "green", "pending": "yellow", "failed": "bold red"}
DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?:in)?)?$")
OPTION_OF_FIELD = {"rule": "--rule", "scope": "--scope", "reason": "--reason", "ends_at": "--until/--for"}
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many rows")]


def local(moment: datetime | None) -> str:
    return "–" if moment is None else moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def duration_text(seconds: float, decimals: int = 0) -> str:
    """A wait or an age as people say it, every unit from the largest to the smallest that is not zero, down to
    the second: 45 s, 7 min 1 s, 12 min, 1 h 0 min 5 s, 2 d 4 h. ``decimals`` are of the seconds."""
    sign, rest = ("−" if seconds < 0 else ""), round(abs(seconds), decimals)
    whole = int(rest)
    days, whole = divmod(whole, 86_400)
    hours, whole = divmod(whole, 3600)
    minutes, secs = divmod(whole, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "min"), (secs + rest - int(rest), "s")]
    shown = [i for i, (amount, _) in enumerate(units) if amount]
    if not shown:
        return f"{0:.{decimals}f} s"
    return sign + " ".join(f"{amount:.{decimals if unit == 's' else 0}f} {unit}"
                           for amount, unit in units[shown[0]:shown[-1] + 1])


def value_text(kpi: str, value: float | None, decimals: int | None = None) -> str:
    """Ratios as percentages (with the catalogue's decimals), everything else (waits, ages of data) as a duration
    (whole seconds); ``decimals`` asks for more."""
    if value is None:
        return "–"
    spec = spec_of(kpi)
    if spec is not None and spec.unit == "ratio":
        return f"{value * 100:.{spec.decimals + (decimals or 0)}f} %"
    return duration_text(value, decimals or 0)


def compared_text(kpi: str, value: float | None, threshold: float | None) -> str:
    """``value / threshold``, with as many more decimals (up to 3) as it takes for two different numbers not to
    read the same: a mean wait of 600.4 s against 600 s is 10 min 0.4 s / 10 min, not 10 min / 10 min."""
    decimals: int | None = None
    while (value is not None and threshold is not None and value != threshold and (decimals or 0) < 3
           and value_text(kpi, value, decimals) == value_text(kpi, threshold, decimals)):
        decimals = (decimals or 0) + 1
    return f"{value_text(kpi, value, decimals)} / {value_text(kpi, threshold, decimals)}"


def _phase(phase: str) -> str:
    return f"[{PHASE_STYLE.get(phase, '')}]{for_terminal(phase)}[/]"


def _notified(delivery: DeliverySummary, event: AlertEvent | None) -> str:
    if event is not None and event.silence_id is not None and not delivery.total:
        return f"muted (silence {event.silence_id})"
    text = for_terminal(delivery.describe())
    style = "bold red" if delivery.failed else "yellow" if delivery.pending else "green" if delivery.delivered else ""
    return f"[{style}]{text}[/]" if style else text


def _key(rule: str, scope: str, kpi: str, period: str) -> list[str]:
    return [for_terminal(rule), for_terminal(scope), for_terminal(kpi or "–"), for_terminal(period or "–")]


@alerts_app.command("list")
def list_command(
    show_all: Annotated[bool, typer.Option("--all", help="Also inactive alerts (pending once, then cleared)")] = False,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule, e.g. target_at_risk")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="Only this scope, e.g. SE-AC")] = None,
    limit: LimitOption = 200,
) -> None:
    """Alerts and their state; by default every phase but inactive. Times in Europe/Stockholm."""
    with session_factory(load_settings())() as session:
        page = list_alerts(session, phase="all" if show_all else None, rule=rule, scope=scope, limit=limit)
    table = Table(title=cli_title("alerts"))
    for header in ("ID", "Fas", "Regel", "Område", "Mått", "Period", "Värde / gräns", "Larmade", "Upphörde",
                   "Aviseringar"):
        table.add_column(header, justify="right" if header == "ID" else "left")
    for view in page.alerts:
        a = view.alert
        table.add_row(str(a.id), _phase(a.phase), *_key(a.rule, a.scope, a.kpi, a.period),
                      compared_text(a.kpi, a.value, a.threshold), local(a.fired_at),
                      local(a.resolved_at), _notified(view.delivery, view.latest_event))
    console.print(table)
    if not page.alerts:
        console.print("no alerts")
    elif page.next_after_id is not None:
        console.print(f"first {limit} shown (--limit)", style="dim")


@alerts_app.command("history")
def history_command(
    limit: LimitOption = 50,
    alert: Annotated[int | None, typer.Option("--alert", min=1, help="Only this alert's changes")] = None,
) -> None:
    """Phase changes, newest first, and the notifications each caused."""
    with session_factory(load_settings())() as session:
        page = alert_history(session, alert, limit=limit)
    table = Table(title=cli_title("alert_history"))
    for header in ("Tid", "Larm", "Regel", "Område", "Mått", "Period", "Ändring", "Värde / gräns",
                   "Aviseringar"):
        table.add_column(header, justify="right" if header == "Larm" else "left")
    for view in page.events:
        e, a = view.event, view.alert
        table.add_row(local(e.at), str(a.id), *_key(a.rule, a.scope, a.kpi, a.period),
                      f"{_phase(e.old_phase)} → {_phase(e.new_phase)}",
                      compared_text(a.kpi, e.value, e.threshold), _notified(view.delivery, e))
    console.print(table)
    if not page.events:
        console.print("no alert has changed phase yet")


@alerts_app.command("notifications")
def notifications_command(
    status: Annotated[str | None, typer.Option("--status", help="pending, delivered or failed")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel")] = None,
    limit: LimitOption = 50,
) -> None:
    """The notification outbox, newest first: what was said, where, and how delivery went."""
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise fail(f"--status: must be one of {', '.join(NOTIFICATION_STATUSES)}, got {status!r}")
    with session_factory(load_settings())() as session:
        page = list_notifications(session, status=status, channel=channel, limit=limit)
    table = Table(title=cli_title("notifications"))
    for header in ("ID", "Skapad", "Larm", "Kanal", "Status", "Försök", "Nästa / levererad", "Senaste fel",
                   "Rubrik"):
        table.add_column(header, justify="right" if header in ("ID", "Försök") else "left")
    for view in page.notifications:
        n, a = view.notification, view.alert
        key = " ".join(part for part in (a.rule, a.scope, a.kpi, a.period) if part)
        when = local(n.delivered_at) if n.status == "delivered" else (
            local(n.next_attempt_at) if n.status == "pending" else "–")
        table.add_row(str(n.id), local(n.created_at), f"{for_terminal(key)} → {_phase(view.event.new_phase)}",
                      for_terminal(n.channel), f"[{STATUS_STYLE.get(n.status, '')}]{for_terminal(n.status)}[/]",
                      str(n.attempts), when, for_terminal(n.last_error or ""), for_terminal(view.title))
    console.print(table)
    if not page.notifications:
        console.print("no notifications")


# -- silences ----------------------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``3d``: the length of a silence as people type it."""
    match = DURATION.match(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(f"must be a duration like 90m, 2h, 1h30m or 3d, got {text!r}")
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    length = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])
    if not length:
        raise ValueError("must be longer than zero")
    if length > timedelta(days=366):
        raise ValueError("at most 366 days; disable the rule instead")
    return length


def _silence_row(silence: AlertSilence, now: datetime) -> list[str]:
    active = silence.starts_at <= now < silence.ends_at
    return [str(silence.id), for_terminal(silence.rule or "any"), for_terminal(silence.scope or "any"),
            local(silence.starts_at), local(silence.ends_at), "[green]yes[/]" if active else "[dim]no[/]",
            for_terminal(silence.reason), for_terminal(silence.created_by)]


@silences_app.command("add")
def add_command(
    reason: Annotated[str, typer.Option("--reason", help="Why, so the next person knows")],
    rule: Annotated[str | None, typer.Option("--rule", help="Mute this rule (in every scope unless --scope)")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="Mute this scope (every rule unless --rule)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time with offset: 2025-10-06T18:00+02:00")] = None,
    length: Annotated[str | None, typer.Option("--for", help="How long from now: 90m, 2h, 1h30m, 3d")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who mutes (default: the OS user)")] = None,
) -> None:
    """Mute a rule, a scope, or a rule in one scope. History is kept; only notifications stop."""
    if (until is None) == (length is None):
        raise fail("give exactly one of --until and --for")
    now = datetime.now(UTC)
    try:
        ends_at = now + parse_duration(length) if length is not None else (
            datetime.fromisoformat((until or "").replace("Z", "+00:00")))
    except ValueError as exc:
        option = "--for" if length is not None else "--until"
        raise fail(f"{option}: {exc}" if length is not None else f"{option}: not an ISO time, got {until!r}") from None
    factory = session_factory(load_settings())
    try:
        with transaction(factory) as session:
            silence = create_silence(session, SilenceRequest(rule=rule, scope=scope, ends_at=ends_at, reason=reason,
                                                             created_by=by or os_user()), now, actor=cli_actor())
    except SilenceError as exc:
        field = OPTION_OF_FIELD.get(exc.field, exc.field)
        raise fail(f"{field}: {str(exc).removeprefix(f'{exc.field}: ')}") from None
    console.print(f"silence {silence.id}: {for_terminal(silence.rule or 'every rule')} in "
                  f"{for_terminal(silence.scope or 'every scope')} muted until {local(silence.ends_at)} (Stockholm)",
                  highlight=False)


@silences_app.command("list")
def silences_list_command(
    show_all: Annotated[bool, typer.Option("--all", help="Also silences that have ended")] = False,
) -> None:
    """Silences in force (or all), latest ending first. Times in Europe/Stockholm."""
    now = datetime.now(UTC)
    with session_factory(load_settings())() as session:
        silences = list_silences(session, now, include_ended=show_all)
    table = Table(title=cli_title("silences"))
    for header in ("ID", "Regel", "Område", "Från", "Till", "Aktiv", "Motivering", "Av"):
        table.add_column(header, justify="right" if header == "ID" else "left")
    for silence in silences:
        table.add_row(*_silence_row(silence, now))
    console.print(table)
    if not silences:
        console.print("no silences" if show_all else "no silence in force")


@silences_app.command("expire")
def expire_command(silence_id: Annotated[int, typer.Argument(min=1, help="The silence's ID")]) -> None:
    """End a silence now; alerts it muted notify again from their next change."""
    now = datetime.now(UTC)
    with transaction(session_factory(load_settings())) as session:
        silence = expire_silence(session, silence_id, now, actor=cli_actor())
        if silence is None:
            raise fail(f"no silence {silence_id}")
        ended_before = silence.ends_at < now
    if ended_before:
        console.print(f"silence {silence_id} had already ended at {local(silence.ends_at)}", highlight=False)
    else:
        console.print(f"silence {silence_id} ended at {local(now)}", highlight=False)
