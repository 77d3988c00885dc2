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
from app.cli.messages import MESSAGES
from app.cli.wording import count, current_lang, decimal, say
from app.db.alert_models import NOTIFICATION_STATUSES, AlertEvent, AlertSilence
from app.db.session import transaction
from app.kpi.catalog import spec_of
from app.kpi.glossary import cli_title
from app.reports.terminal import local_minute
from app.sanitize import for_terminal

alerts_app = typer.Typer(help="Inbyggda larm: läge, historik och utkorgen med aviseringar.", no_args_is_help=True)
silences_app = typer.Typer(help="Tysta larm för en regel eller ett område en tid.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
app.add_typer(silences_app, name="silences")

PHASE_STYLE = {"firing": "bold red", "pending": "yellow", "resolved": "green", "inactive": "dim"}
STATUS_STYLE = {"delivered": "green", "pending": "yellow", "failed": "bold red"}
DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?:in)?)?$")
OPTION_OF_FIELD = {"rule": "--rule", "scope": "--scope", "reason": "--reason", "ends_at": "--until/--for"}
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=1000, help="Högst så här många rader")]


def local(moment: datetime | None) -> str:
    return "–" if moment is None else local_minute(moment)


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
        return f"{decimal(0, decimals)} s"
    return sign + " ".join(f"{decimal(amount, decimals if unit == 's' else 0)} {unit}"
                           for amount, unit in units[shown[0]:shown[-1] + 1])


def value_text(kpi: str, value: float | None, decimals: int | None = None) -> str:
    """Ratios as percentages (with the catalogue's decimals), everything else (waits, ages of data) as a duration
    (whole seconds); ``decimals`` asks for more."""
    if value is None:
        return "–"
    spec = spec_of(kpi)
    if spec is not None and spec.unit == "ratio":
        return f"{decimal(value * 100, spec.decimals + (decimals or 0))} %"
    return duration_text(value, decimals or 0)


def compared_text(kpi: str, value: float | None, threshold: float | None) -> str:
    """``value / threshold``, with as many more decimals (up to 3) as it takes for two different numbers not to
    read the same: a mean wait of 600.4 s against 600 s is 10 min 0.4 s / 10 min, not 10 min / 10 min."""
    decimals: int | None = None
    while (value is not None and threshold is not None and value != threshold and (decimals or 0) < 3
           and value_text(kpi, value, decimals) == value_text(kpi, threshold, decimals)):
        decimals = (decimals or 0) + 1
    return f"{value_text(kpi, value, decimals)} / {value_text(kpi, threshold, decimals)}"


def phase_word(phase: str) -> str:
    """An alert's phase in the run's language; an unknown one (a newer server) as its code."""
    key = f"phase.{phase}"
    return say(key) if key in MESSAGES else for_terminal(phase)


def _status_word(status: str) -> str:
    key = f"delivery.{status}"
    return say(key) if key in MESSAGES else for_terminal(status)


def _phase(phase: str) -> str:
    return f"[{PHASE_STYLE.get(phase, '')}]{phase_word(phase)}[/]"


def delivery_text(delivery: DeliverySummary) -> str:
    """"2 levererade, 1 misslyckad (timeout)": ``DeliverySummary.describe`` in the run's language."""
    parts = [f"{count(n)} {say(f'delivery.{name}')}" for name, n in
             (("delivered", delivery.delivered), ("pending", delivery.pending), ("failed", delivery.failed)) if n]
    text = ", ".join(parts) or say("delivery.none")
    return f"{text} ({for_terminal(delivery.last_error)})" if delivery.last_error else text


def _notified(delivery: DeliverySummary, event: AlertEvent | None) -> str:
    if event is not None and event.silence_id is not None and not delivery.total:
        return say("muted", id=event.silence_id)
    text = delivery_text(delivery)
    style = "bold red" if delivery.failed else "yellow" if delivery.pending else "green" if delivery.delivered else ""
    return f"[{style}]{text}[/]" if style else text


def _key(rule: str, scope: str, kpi: str, period: str) -> list[str]:
    return [for_terminal(rule), for_terminal(scope), for_terminal(kpi or "–"), for_terminal(period or "–")]


@alerts_app.command("list", help="Larm och deras läge; som standard alla faser utom inaktiva. Tider i svensk tid.")
def list_command(
    show_all: Annotated[bool, typer.Option("--all", help="Även inaktiva larm (väntade en gång, sedan borta)")] = False,
    rule: Annotated[str | None, typer.Option("--rule", help="Bara den här regeln, t.ex. target_at_risk")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="Bara det här området, t.ex. SE-AC")] = None,
    limit: LimitOption = 200,
) -> None:
    with session_factory(load_settings())() as session:
        page = list_alerts(session, phase="all" if show_all else None, rule=rule, scope=scope, limit=limit)
    table = Table(title=cli_title("alerts", current_lang()))
    for i, header in enumerate(say("alerts.headers").split("|")):
        table.add_column(header, justify="right" if i == 0 else "left")
    for view in page.alerts:
        a = view.alert
        table.add_row(str(a.id), _phase(a.phase), *_key(a.rule, a.scope, a.kpi, a.period),
                      compared_text(a.kpi, a.value, a.threshold), local(a.fired_at),
                      local(a.resolved_at), _notified(view.delivery, view.latest_event))
    console.print(table)
    if not page.alerts:
        console.print(say("no_alerts"))
    elif page.next_after_id is not None:
        console.print(say("first_shown", limit=limit), style="dim")


@alerts_app.command("history", help="Fasbyten, nyaste först, och aviseringarna varje byte gav.")
def history_command(
    limit: LimitOption = 50,
    alert: Annotated[int | None, typer.Option("--alert", min=1, help="Bara det här larmets ändringar")] = None,
) -> None:
    with session_factory(load_settings())() as session:
        page = alert_history(session, alert, limit=limit)
    table = Table(title=cli_title("alert_history", current_lang()))
    for i, header in enumerate(say("history.headers").split("|")):
        table.add_column(header, justify="right" if i == 1 else "left")
    for view in page.events:
        e, a = view.event, view.alert
        table.add_row(local(e.at), str(a.id), *_key(a.rule, a.scope, a.kpi, a.period),
                      f"{_phase(e.old_phase)} → {_phase(e.new_phase)}",
                      compared_text(a.kpi, e.value, e.threshold), _notified(view.delivery, e))
    console.print(table)
    if not page.events:
        console.print(say("no_phase_change"))


@alerts_app.command("notifications", help="Utkorgen med aviseringar, nyaste först: vad som sades, var, och hur "
                    "leveransen gick.")
def notifications_command(
    status: Annotated[str | None, typer.Option("--status", help="pending, delivered eller failed")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Bara den här kanalen")] = None,
    limit: LimitOption = 50,
) -> None:
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise fail(say("status_option", known=", ".join(NOTIFICATION_STATUSES), got=status), param="--status")
    with session_factory(load_settings())() as session:
        page = list_notifications(session, status=status, channel=channel, limit=limit)
    table = Table(title=cli_title("notifications", current_lang()))
    for i, header in enumerate(say("notifications.headers").split("|")):
        table.add_column(header, justify="right" if i in (0, 5) else "left")
    for view in page.notifications:
        n, a = view.notification, view.alert
        key = " ".join(part for part in (a.rule, a.scope, a.kpi, a.period) if part)
        when = local(n.delivered_at) if n.status == "delivered" else (
            local(n.next_attempt_at) if n.status == "pending" else "–")
        table.add_row(str(n.id), local(n.created_at), f"{for_terminal(key)} → {_phase(view.event.new_phase)}",
                      for_terminal(n.channel), f"[{STATUS_STYLE.get(n.status, '')}]{_status_word(n.status)}[/]",
                      str(n.attempts), when, for_terminal(n.last_error or ""), for_terminal(view.title))
    console.print(table)
    if not page.notifications:
        console.print(say("no_notifications"))


# -- silences ----------------------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``3d``: the length of a silence as people type it."""
    match = DURATION.match(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(say("duration.form", text=text))
    parts = {k: int(v) for k, v in match.groupdict(default="0").items()}
    length = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])
    if not length:
        raise ValueError(say("duration.zero"))
    if length > timedelta(days=366):
        raise ValueError(say("duration.long"))
    return length


def _silence_row(silence: AlertSilence, now: datetime) -> list[str]:
    active = silence.starts_at <= now < silence.ends_at
    return [str(silence.id), for_terminal(silence.rule or say("any")), for_terminal(silence.scope or say("any")),
            local(silence.starts_at), local(silence.ends_at),
            f"[green]{say('yes')}[/]" if active else f"[dim]{say('no')}[/]",
            for_terminal(silence.reason), for_terminal(silence.created_by)]


@silences_app.command("add", help="Tysta en regel, ett område eller en regel i ett område. Historiken sparas; "
                      "bara aviseringarna upphör.")
def add_command(
    reason: Annotated[str, typer.Option("--reason", help="Varför, så att nästa person vet")],
    rule: Annotated[str | None, typer.Option("--rule", help="Tysta den här regeln (i alla områden utom med "
                                             "--scope)")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="Tysta det här området (alla regler utom med "
                                              "--rule)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO-tid med tidszon: 2025-10-06T18:00+02:00")] = None,
    length: Annotated[str | None, typer.Option("--for", help="Hur länge från nu: 90m, 2h, 1h30m, 3d")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Vem som tystar (standard: OS-användaren)")] = None,
) -> None:
    if (until is None) == (length is None):
        raise fail(say("silence.one_of"))
    now = datetime.now(UTC)
    try:
        ends_at = now + parse_duration(length) if length is not None else (
            datetime.fromisoformat((until or "").replace("Z", "+00:00")))
    except ValueError as exc:
        option = "--for" if length is not None else "--until"
        raise fail(str(exc) if length is not None else say("silence.not_iso", text=until), param=option) from None
    factory = session_factory(load_settings())
    try:
        with transaction(factory) as session:
            silence = create_silence(session, SilenceRequest(rule=rule, scope=scope, ends_at=ends_at, reason=reason,
                                                             created_by=by or os_user()), now, actor=cli_actor())
    except SilenceError as exc:
        field = OPTION_OF_FIELD.get(exc.field, exc.field)
        raise fail(str(exc).removeprefix(f"{exc.field}: "), param=field) from None
    console.print(say("silence.added", id=silence.id, rule=for_terminal(silence.rule or say("silence.every_rule")),
                      scope=for_terminal(silence.scope or say("silence.every_scope")), until=local(silence.ends_at)),
                  highlight=False)


@silences_app.command("list", help="Tystnader som gäller (eller alla), den som slutar senast först. Tider i svensk "
                      "tid.")
def silences_list_command(
    show_all: Annotated[bool, typer.Option("--all", help="Även tystnader som har upphört")] = False,
) -> None:
    now = datetime.now(UTC)
    with session_factory(load_settings())() as session:
        silences = list_silences(session, now, include_ended=show_all)
    table = Table(title=cli_title("silences", current_lang()))
    for i, header in enumerate(say("silences.headers").split("|")):
        table.add_column(header, justify="right" if i == 0 else "left")
    for silence in silences:
        table.add_row(*_silence_row(silence, now))
    console.print(table)
    if not silences:
        console.print(say("silence.none") if show_all else say("silence.none_in_force"))


@silences_app.command("expire", help="Avsluta en tystnad nu; larmen den tystade aviserar igen från nästa ändring.")
def expire_command(silence_id: Annotated[int, typer.Argument(min=1, help="Tystnadens ID")]) -> None:
    now = datetime.now(UTC)
    with transaction(session_factory(load_settings())) as session:
        silence = expire_silence(session, silence_id, now, actor=cli_actor())
        if silence is None:
            raise fail(say("silence.unknown", id=silence_id))
        ended_before = silence.ends_at < now
    if ended_before:
        console.print(say("silence.had_ended", id=silence_id, when=local(silence.ends_at)), highlight=False)
    else:
        console.print(say("silence.ended", id=silence_id, when=local(now)), highlight=False)
