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
from app.cli.alerts import alerts_app
from app.cli.base import EXIT_FAILED, console, errors, load_settings, session_factory
from app.kpi.glossary import Lang
from app.sanitize import for_terminal


def _alerting() -> Alerting:
    settings = load_settings()
    try:
        return Alerting(settings, session_factory(settings), f"{socket.gethostname()}:{os.getpid()}:cli")
    except (ChannelConfigError, RuleConfigError) as exc:
        errors.print(f"[red]alert configuration[/red]: {for_terminal(exc)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None


@alerts_app.command("evaluate")
def evaluate_command() -> None:
    """Evaluate every rule now, write phase changes and their notifications, and send them."""
    report = _alerting().evaluate()
    if report is None:
        console.print("another process is evaluating right now (it holds the lease): nothing done")
        return
    console.print(f"{report.evaluated} keys evaluated, {len(report.transitions)} changes, "
                  f"{report.notifications} notifications written, {report.silenced} silenced")
    for transition in report.transitions:
        console.print(f"  {for_terminal(transition.key)}: {transition.old.value} → {transition.new.value}")


@alerts_app.command("deliver")
def deliver_command() -> None:
    """Send the notifications that are due now."""
    report = _alerting().deliver()
    if report is None:
        console.print("another process is delivering right now (it holds the lease): nothing done")
        return
    console.print(f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed")
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


@alerts_app.command("channels")
def channels_command() -> None:
    """The configured channels, without their secrets."""
    alerting = _alerting()
    if not alerting.channels:
        console.print("no channels: alerts are kept and shown, but no one is notified (README \"Alerts\")")
    for line in alerting.describe():
        console.print(for_terminal(line), highlight=False)


@alerts_app.command("test")
def test_command(
    name: Annotated[str, typer.Argument(help="The channel's name (see `vpt alerts channels`)")],
    lang: Annotated[Lang | None, typer.Option(help="Default: the channel's language")] = None,
) -> None:
    """Send a sample message to one channel now, outside the outbox, and say what happened."""
    alerting = _alerting()
    channel = next((c for c in alerting.channels if c.name == name), None)
    if channel is None:
        errors.print(f"[red]error[/red] no channel '{for_terminal(name)}'; known: "
                     f"{for_terminal(', '.join(c.name for c in alerting.channels) or 'none')}", highlight=False)
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
        errors.print(f"[red]not delivered[/red] ({'retryable' if exc.retryable else 'refused'}): "
                     f"{for_terminal(exc)}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"delivered a test message to {for_terminal(channel.describe())}", highlight=False)
