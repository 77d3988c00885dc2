"""What an alert says to a manager, in Swedish by default and English on request.

Every message answers the same questions: which region or collaboration, which KPI, what the value is, what
the target is, and what the rest of the month must achieve to recover (the needed answer rate, from the
scorecard's forecast). Numbers are written the way the reader writes them: "81,2 %" in Swedish.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from app.alerts.engine import AlertKey
from app.alerts.message import AlertMessage
from app.kpi.catalog import SECONDS_KPIS, kpi_in_text
from app.kpi.glossary import STATUS_WORDS, TERMS, Lang, capitalised, status_word
from app.kpi.localtime import STOCKHOLM

MONTHS = {
    "sv": ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
           "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}
SEVERITY = {"target_at_risk": "warning", "target_unreachable": "critical", "target_missed": "critical",
            "fast_slip": "critical", "data_stale": "warning", "worker_stale": "critical"}

LABELS = {
    "sv": {"region": "Region", "collaboration": "Samverkan", "source": "Källa", "worker": "Worker",
           "kpi": capitalised(TERMS["kpi"].short.sv), "value": "Värde", "target": capitalised(TERMS["target"].short.sv),
           "needed": capitalised(TERMS["needed_answer_rate"].short.sv), "month": "Månad",
           "window": "Period", "calls": "Samtal", "last_data": "Senaste nya data", "limit": "Gräns"},
    "en": {"region": "Region", "collaboration": "Collaboration", "source": "Source", "worker": "Worker",
           "kpi": TERMS["kpi"].short.en, "value": "Value", "target": capitalised(TERMS["target"].short.en),
           "needed": capitalised(TERMS["needed_answer_rate"].short.en),
           "month": "Month", "window": "Window", "calls": "Calls", "last_data": "Latest new data", "limit": "Limit"},
}


def fingerprint(key: AlertKey) -> str:
    return hashlib.sha256(str(key).encode()).hexdigest()[:16]


def idempotency_key(key: AlertKey, phase: str, at: datetime, channel: str) -> str:
    """The same transition to the same channel always has the same key, whatever retries or restarts happen."""
    text = f"{key}|{phase}|{at.astimezone(UTC).isoformat()}|{channel}"
    return "vpt-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def percent(value: float | None, lang: Lang, extra: int = 0) -> str:
    if value is None:
        return "–"
    text = f"{100 * value:.{1 + extra}f}"
    return f"{text.replace('.', ',')} %" if lang == "sv" else f"{text}%"


def duration(seconds: float | None, lang: Lang, extra: int = 0) -> str:
    """Whole seconds, or ``extra`` decimals of them (only to tell a value from a target it would read as)."""
    if seconds is None:
        return "–"
    total = round(seconds, extra) if extra else round(seconds)
    whole = int(total)
    fraction = total - whole
    def secs_text(secs: int, pad: bool) -> str:
        if not extra:
            return f"{secs:02d}" if pad else str(secs)
        text = f"{secs + fraction:0{3 + extra if pad else 0}.{extra}f}"
        return text.replace(".", ",") if lang == "sv" else text
    if whole >= 3600:  # seconds too, when there are any: an age of 1 h 0 min 30 s must not read as its 1 h limit
        hours, rest = divmod(whole, 3600)
        return f"{hours} h {rest // 60} min" + (f" {secs_text(rest % 60, True)} s" if rest % 60 or fraction else "")
    minutes, secs = divmod(whole, 60)
    return f"{minutes} min {secs_text(secs, True)} s" if minutes else f"{secs_text(secs, False)} s"


def compared(kpi: str, value: float | None, target: float | None, lang: Lang) -> tuple[str, str]:
    """``value`` and ``target`` as text, with up to 3 more decimals where two different numbers would read the
    same: an answer rate of 84.96 % against 85 % must not read "85,0 % (mål 85,0 %)" in a message saying it missed."""
    for extra in range(4):
        shown = kpi_value(kpi, value, lang, extra), kpi_value(kpi, target, lang, extra)
        if value is None or target is None or value == target or shown[0] != shown[1]:
            return shown
    return shown


def kpi_value(kpi: str, value: float | None, lang: Lang, extra: int = 0) -> str:
    return duration(value, lang, extra) if kpi in SECONDS_KPIS else percent(value, lang, extra)


def month_name(period: str, lang: Lang) -> str:
    if not period:
        return ""
    year, month = period.split("-")
    return f"{MONTHS[lang][int(month) - 1]} {year}"


def local_time(text: str | None) -> str:
    if not text:
        return "–"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(STOCKHOLM)
    return moment.strftime("%Y-%m-%d %H:%M")


def render(key: AlertKey, status: Literal["firing", "resolved"], details: dict[str, Any], *, lang: Lang,
           starts_at: datetime, ends_at: datetime | None, channel: str, link: str) -> AlertMessage:
    title, text = _words(key, status, details, lang)
    return AlertMessage(
        idempotency_key=idempotency_key(key, status, ends_at if status == "resolved" and ends_at else starts_at,
                                        channel),
        status=status, rule=key.rule, scope=key.scope, scope_name=details.get("scope_name") or key.scope,
        kpi=key.kpi, period=key.period, severity="critical" if SEVERITY.get(key.rule) == "critical" else "warning",
        fingerprint=fingerprint(key), starts_at=starts_at, ends_at=ends_at, lang=lang, title=title, text=text,
        facts=_facts(key, details, lang), link=link,
    )


def _facts(key: AlertKey, details: dict[str, Any], lang: Lang) -> list[tuple[str, str]]:
    labels = LABELS[lang]
    kind = details.get("scope_kind", "region")
    facts = [(labels.get(kind, labels["region"]), str(details.get("scope_name") or key.scope))]
    if key.kpi:
        facts.append((labels["kpi"], kpi_in_text(key.kpi, lang).capitalize()))
        value, target = compared(key.kpi, details.get("value"), details.get("target"), lang)
        facts.append((labels["value"], value))
        if details.get("target") is not None:
            facts.append((labels["target"], f"{details.get('comparator', '')} {target}".strip()))
    if key.rule == "fast_slip":
        facts.append((labels["window"], f"{details.get('hours')} h"))
        facts.append((labels["calls"], str(details.get("offered", "–"))))
    if details.get("needed_answer_rate") is not None:
        facts.append((labels["needed"], percent(details["needed_answer_rate"], lang)))
    if key.period:
        facts.append((labels["month"], month_name(key.period, lang)))
    if key.rule == "data_stale":
        facts.append((labels["last_data"], local_time(details.get("last_data_at"))))
        facts.append((labels["limit"], duration(details.get("max_age_seconds"), lang)))
    return facts


#: "förväntade samtal resten av månaden": the forecast's calls still to come (was "återstående samtal").
_EXPECTED = TERMS["expected_calls"].long


def _needed_sentence(kpi: str, details: dict[str, Any], lang: Lang) -> str:
    """What the rest of the month must achieve: the needed mean wait for a wait KPI, else the needed answer rate."""
    sv = lang == "sv"
    if kpi == "mean_wait":
        wait = details.get("needed_mean_wait")
        if wait is None:
            return ""
        if wait < 0:
            return (" Målet kan inte längre nås: väntan hittills är för lång även om resten besvaras direkt." if sv
                    else " The target can no longer be reached: waits so far are too long even if the rest are "
                         "answered at once.")
        return (f" För att nå målet får de förväntade samtalen resten av månaden som besvaras vänta högst "
                f"{duration(wait, lang)} i snitt." if sv else
                f" To reach the target, the {_EXPECTED.en} that are answered may wait at most "
                f"{duration(wait, lang)} on average.")
    needed = details.get("needed_answer_rate")
    if needed is None:
        return ""
    if needed > 1:
        return (f" Även om alla {_EXPECTED.sv} besvaras når månaden inte målet för svarsfrekvens (det skulle "
                f"krävas {percent(needed, lang)})." if sv else
                f" Even if all the {_EXPECTED.en} are answered the month cannot reach its answer-rate target (it "
                f"would take {percent(needed, lang)}).")
    if needed <= 0:
        return (" Svarsfrekvensens mål nås även om inga fler samtal besvaras i månaden." if sv else
                " The answer-rate target is met even if no further call is answered this month.")
    remaining = details.get("expected_remaining_offered")
    calls = "" if remaining is None else (
        f" av cirka {round(remaining):,} {TERMS['expected_calls'].short.sv}".replace(",", " ") if sv
        else f" of about {round(remaining):,} {TERMS['expected_calls'].short.en}")
    return (f" För att nå målet för svarsfrekvens behöver {percent(needed, lang)}{calls} besvaras resten av "
            f"månaden." if sv else
            f" To reach the answer-rate target, {percent(needed, lang)}{calls} must be answered for the rest of the "
            f"month.")


def _staffing_sentence(details: dict[str, Any], lang: Lang) -> str:
    """The staffing advice's price of saving the month (``app.alerts.staffing``); nothing without advice."""
    extra = details.get("extra_nurse_hours")
    if not isinstance(extra, int) or isinstance(extra, bool) or extra <= 0:
        return ""
    hours = TERMS["nurse_hours"].short
    if lang == "sv":
        return (f" Enligt bemanningsrådet (Erlang A) behövs ≈ {extra:,} extra {hours.sv} resten av "
                f"månaden.".replace(",", " "))
    return f" The staffing advice (Erlang A) puts it at ≈ {extra:,} extra {hours.en} in the rest of the month."


def _watch_ended(key: AlertKey, d: dict[str, Any], lang: Lang) -> tuple[str, str] | None:
    """A resolution that is not a recovery: the rule was switched off, the source removed, the month archived."""
    scope = d.get("scope_name") or key.scope
    what = kpi_in_text(key.kpi, lang) if key.kpi else key.rule
    if d.get("archived"):
        month = month_name(key.period, lang)
        return ((f"Arkiverat: {scope} missade målet för {what} i {month}",
                 "Larmet stängs eftersom månaden ligger långt bak; utfallet står kvar i styrkortet.") if lang == "sv"
                else (f"Archived: {scope} missed its {what} target for {month}",
                      "The alert is closed because the month is long past; the outcome stays in the scorecard."))
    if d.get("no_longer_evaluated"):
        return ((f"Bevakningen har upphört: {key.rule} för {scope}" + (f" ({what})" if key.kpi else ""),
                 "Regeln är avstängd, eller källan, målet eller workern finns inte längre; larmet stängs utan att "
                 "värdet har bedömts.") if lang == "sv" else
                (f"No longer watched: {key.rule} for {scope}" + (f" ({what})" if key.kpi else ""),
                 "The rule was switched off, or the source, target or worker is gone; the alert is closed without "
                 "a verdict on the value."))
    return None


def _words(key: AlertKey, status: str, d: dict[str, Any], lang: Lang) -> tuple[str, str]:
    sv = lang == "sv"
    scope = d.get("scope_name") or key.scope
    kpi = kpi_in_text(key.kpi, lang)
    Kpi = kpi[:1].upper() + kpi[1:]
    month = month_name(key.period, lang)
    value, target = compared(key.kpi, d.get("value"), d.get("target"), lang)
    firing = status == "firing"
    needed = _needed_sentence(key.kpi, d, lang)
    ended = None if firing else _watch_ended(key, d, lang)
    if ended is not None:
        return ended
    if d.get("closed") and key.rule in ("target_at_risk", "target_unreachable"):
        verdict = STATUS_WORDS["met" if d.get("status") == "met" else "missed"].long
        verdict_sv, verdict_en = verdict.sv, verdict.en
        return ((f"{month.capitalize()} är avslutad för {scope}: {kpi} blev {value}",
                 f"Månaden är stängd; {kpi} blev {value} (mål {target}), {verdict_sv}.") if sv else
                (f"{month} is closed for {scope}: the {kpi} ended at {value}",
                 f"The month is over; the {kpi} ended at {value} (target {target}), {verdict_en}."))
    if key.rule == "target_at_risk":
        if firing:
            staffing = _staffing_sentence(d, lang)
            return ((f"{Kpi} i {scope} riskerar att missa målet för {month}",
                     f"Hittills i {month} är {kpi} {value} (mål {target}).{needed}{staffing}") if sv else
                    (f"{Kpi} in {scope} is at risk of missing its target for {month}",
                     f"So far in {month} the {kpi} is {value} (target {target}).{needed}{staffing}"))
        return ((f"{Kpi} i {scope} är åter {status_word('on_track', lang)} för {month}",
                 f"Hittills i {month} är {kpi} {value} (mål {target}).{needed}") if sv else
                (f"{Kpi} in {scope} is back {status_word('on_track', lang)} for {month}",
                 f"So far in {month} the {kpi} is {value} (target {target}).{needed}"))
    if key.rule == "target_unreachable":
        if firing:
            return ((f"{Kpi} i {scope} kan inte längre nå målet för {month}",
                     f"Hittills i {month} är {kpi} {value} (mål {target}).{needed}") if sv else
                    (f"{Kpi} in {scope} can no longer reach its target for {month}",
                     f"So far in {month} the {kpi} is {value} (target {target}).{needed}"))
        return ((f"{Kpi} i {scope} kan åter nå målet för {month}",
                 f"Hittills i {month} är {kpi} {value} (mål {target}).{needed}") if sv else
                (f"{Kpi} in {scope} can reach its target for {month} again",
                 f"So far in {month} the {kpi} is {value} (target {target}).{needed}"))
    if key.rule == "target_missed":
        if firing:
            return ((f"{scope} missade målet för {kpi} i {month}: {value}",
                     f"{Kpi} för {month} blev {value} (mål {target}).") if sv else
                    (f"{scope} missed its {kpi} target for {month}: {value}",
                     f"The {kpi} for {month} was {value} (target {target})."))
        return ((f"{scope} nådde ändå målet för {kpi} i {month}",
                 f"Efter sena eller rättade data blev {kpi} {value} (mål {target}).") if sv else
                (f"{scope} met its {kpi} target for {month} after all",
                 f"After late or corrected data the {kpi} is {value} (target {target})."))
    if key.rule == "fast_slip":
        hours, offered, answered = d.get("hours") or 0, d.get("offered"), d.get("answered")
        since = local_time(d.get("window_start"))[-5:]
        value, threshold = compared(key.kpi, d.get("value"), d.get("threshold"), lang)
        span_sv = "den senaste timmen" if hours == 1 else f"de senaste {hours} timmarna"
        span_en = "the last hour" if hours == 1 else f"the last {hours} hours"
        if key.kpi == "mean_wait":
            basis_sv, basis_en = f"för {answered} besvarade samtal", f"over {answered} answered calls"
        else:
            basis_sv, basis_en = f"av {offered} samtal", f"of {offered} calls"
        if d.get("window_start"):
            figures_sv = f"Sedan kl. {since} är {kpi} {value} {basis_sv} (mål {target}"
            figures_en = f"Since {since} the {kpi} is {value} {basis_en} (target {target}"
        else:  # no window start in the details: name the span rather than print "Since –"
            figures_sv = f"Under {span_sv} är {kpi} {value} {basis_sv} (mål {target}"
            figures_en = f"Over {span_en} the {kpi} is {value} {basis_en} (target {target}"
        if firing:
            verb_sv = "sjunkit kraftigt" if key.kpi == "answer_rate" else "ökat kraftigt"
            verb_en = "dropped sharply" if key.kpi == "answer_rate" else "risen sharply"
            return ((f"{Kpi} i {scope} har {verb_sv} {span_sv}",
                     f"{figures_sv}, larmgräns {threshold}).{needed}") if sv else
                    (f"{Kpi} in {scope} has {verb_en} over {span_en}",
                     f"{figures_en}, alert limit {threshold}).{needed}"))
        return ((f"{Kpi} i {scope} har återhämtat sig", f"{figures_sv}).") if sv else
                (f"{Kpi} in {scope} has recovered", f"{figures_en})."))
    if key.rule == "data_stale":
        age, limit = duration(d.get("age_seconds"), lang), duration(d.get("max_age_seconds"), lang)
        last = local_time(d.get("last_data_at"))
        if firing:
            return ((f"Inga nya data från källan {scope} på {age}",
                     f"Källan {scope} har inte levererat någon ny eller ändrad post sedan {last} (gräns {limit}). "
                     f"Siffrorna för dess regioner ligger efter tills den levererar igen.") if sv else
                    (f"No new data from source {scope} for {age}",
                     f"Source {scope} has delivered no new or changed record since {last} (limit {limit}). "
                     f"The figures of its regions lag until it delivers again."))
        return ((f"Data kommer åter från källan {scope}", f"Senaste nya data: {last}.") if sv else
                (f"Data is arriving again from source {scope}", f"Latest new data: {last}."))
    if key.rule == "worker_stale":
        age = duration(d.get("age_seconds"), lang)
        if firing:
            return ((f"Workern {scope} har slutat svara", f"Inget livstecken på {age}; dess jobb tas över av "
                     f"andra workers när deras lås löper ut.") if sv else
                    (f"Worker {scope} has stopped responding", f"No heartbeat for {age}; other workers take over "
                     f"its jobs as its leases expire."))
        return ((f"Workern {scope} är åter igång eller ersatt", "Livstecken har kommit igen.") if sv else
                (f"Worker {scope} is back or replaced", "Heartbeats are arriving again."))
    return (f"{key}: {status}", "")
