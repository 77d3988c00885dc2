"""``vpt alerts evaluate|deliver|channels|test``: run what the worker runs, once, and check the channels.

``evaluate`` and ``deliver`` take the same database leases as the worker, so running them next to a live
worker is safe: whoever holds the lease does the work. ``test`` sends a sample message straight to one channel
(not through the outbox), to check a URL, a secret or an SMTP login before a real alert depends on it.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Annotated

import typer

from app.alerts.channel_config import ChannelConfigError
from app.alerts.channels import DeliveryError, send
from app.alerts.engine import AlertKey
from app.alerts.messages import render
from app.alerts.rulebook import RuleConfigError
from app.alerts.service import Alerting
from app.cli.alerts import alerts_app, phase_word
from app.cli.base import EXIT_FAILED, console, error_line, errors, load_settings, session_factory
from app.cli.wording import count, counted, say
from app.kpi.glossary import Lang
from app.sanitize import for_terminal


def _alerting() -> Alerting:
    settings = load_settings()
    try:
        return Alerting(settings, session_factory(settings), f"{socket.gethostname()}:{os.getpid()}:cli")
    except (ChannelConfigError, RuleConfigError) as exc:
        errors.print(f"[red]{say('alert_configuration')}[/red]: {for_terminal(exc)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None


@alerts_app.command("evaluate", help="Bedöm varje regel nu, skriv fasbyten och deras aviseringar, och skicka dem.")
def evaluate_command() -> None:
    report = _alerting().evaluate()
    if report is None:
        console.print(say("evaluate.busy"))
        return
    console.print(say("evaluate.done", keys=counted(report.evaluated, "key", "evaluated"),
                      changes=counted(len(report.transitions), "change"),
                      notifications=counted(report.notifications, "notification", "written"),
                      silenced=counted(report.silenced, "notification", "silenced")), highlight=False)
    for transition in report.transitions:
        console.print(f"  {for_terminal(transition.key)}: {phase_word(transition.old.value)} → "
                      f"{phase_word(transition.new.value)}", highlight=False)


@alerts_app.command("deliver", help="Skicka aviseringarna som ska ut nu.")
def deliver_command() -> None:
    report = _alerting().deliver()
    if report is None:
        console.print(say("deliver.busy"))
        return
    console.print(say("deliver.done", delivered=count(report.delivered), retrying=count(report.retrying),
                      failed=count(report.failed)), highlight=False)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


@alerts_app.command("channels", help="De konfigurerade kanalerna, utan deras hemligheter.")
def channels_command() -> None:
    alerting = _alerting()
    if not alerting.channels:
        console.print(say("channels.none"))
    for line in alerting.describe():
        console.print(for_terminal(line), highlight=False)


@alerts_app.command("test", help="Skicka ett provmeddelande till en kanal nu, utanför utkorgen, och säg hur det gick.")
def test_command(
    name: Annotated[str, typer.Argument(help="Kanalens namn (se `vpt alerts channels`)")],
    lang: Annotated[Lang | None, typer.Option(help="Meddelandets språk (standard: kanalens)")] = None,
) -> None:
    """``--lang`` here is the language of the message sent to the channel, not of this run's output."""
    alerting = _alerting()
    channel = next((c for c in alerting.channels if c.name == name), None)
    if channel is None:
        error_line(say("channel.unknown", name=name,
                       known=", ".join(c.name for c in alerting.channels) or say("none")))
        raise typer.Exit(EXIT_FAILED)
    now = datetime.now(UTC)
    message = render(
        AlertKey("target_at_risk", "SE-AC", "answer_rate", now.strftime("%Y-%m")), "firing",
        {"scope_name": "Region Västerbotten (TEST)", "scope_kind": "region", "value": 0.8123, "target": 0.85,
         "comparator": ">=", "needed_answer_rate": 0.8791, "expected_remaining_offered": 12000},
        lang=lang or channel.lang, starts_at=now, ends_at=None, channel=f"{channel.name}:test:{now.timestamp()}",
        link=alerting.settings.public_base_url,
    )
    try:
        send(channel, message)
    except DeliveryError as exc:
        errors.print(say("test.not_delivered", why=say("test.retryable" if exc.retryable else "test.refused"),
                         error=for_terminal(exc)), highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(say("test.delivered", channel=for_terminal(channel.describe())), highlight=False)
