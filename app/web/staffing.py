"""The staffing section of a region's or collaboration's page (issue 17): today's remaining hours as plain values.

The figures are the staffing service's own (``app.staffing.service.staffing_advice``, what the API's
``/staffing`` returns), formatted by the report's number functions: nurses per hour for the targets, the answer rate
and mean wait Erlang A predicts with them, the nurses that save the month where that takes more, the nurse-hours, and
every estimate with the calls it rests on. Shown for today only: the month a page shows must be in progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.kpi.catalog import kpi_in_text
from app.kpi.glossary import TERMS, Lang, capitalised
from app.kpi.localtime import STOCKHOLM
from app.kpi.numbers import number, percent
from app.reports.board_text import wait
from app.sanitize import clean
from app.staffing.estimates import Estimate, Parameters
from app.staffing.plan import HourAdvice, Staffing, Totals
from app.staffing.service import StaffingAdvice
from app.web.texts import word

BASIS: dict[str, str] = {"slot": "basis_slot", "region": "basis_region", "none": "basis_none"}


@dataclass(frozen=True)
class HourRow:
    key: str  # the hour's local start, ISO 8601 with its offset (as the API's ``hour_start``)
    label: str  # "12:00"
    offered: str
    nurses: str
    answer_rate: str
    mean_wait: str
    recover_nurses: str = ""
    recover_answer_rate: str = ""
    note: str = ""
    staffed: str = ""  # blank: the platform reported no staffed positions for the hour
    difference: str = ""


@dataclass(frozen=True)
class EstimateRow:
    region: str
    hour: str
    handling: str
    handled_calls: str
    patience: str
    callers: str
    abandoned: str
    basis: str


@dataclass(frozen=True)
class StaffingView:
    title: str
    goal: str = ""
    recovering: bool = False
    staffed: bool = False  # some hour shown has staffed positions: their columns are shown
    needed: str = ""
    hours: list[HourRow] = field(default_factory=list)
    nurse_hours: dict[str, str] = field(default_factory=dict)  # today, today_recover, month, month_recover
    estimates: list[EstimateRow] = field(default_factory=list)
    api: str = ""
    unavailable: str = ""  # why there is no advice (then nothing else is shown)


def title(lang: Lang) -> str:
    return f"{capitalised(TERMS['staffing'].short[lang])} {TERMS['today'].short[lang]}"


def _clock(moment: datetime) -> str:
    return f"{moment.astimezone(STOCKHOLM):%H:%M}"


def _note(hour: HourAdvice, lang: Lang) -> str:
    """The service's note worded where every surface words it (``app.staffing.notes``); its values (region
    codes) came from storage."""
    return "" if hour.note is None else clean(hour.note.text(lang), 200)


def _staffing(staffing: Staffing | None, lang: Lang) -> tuple[str, str, str]:
    if staffing is None:
        return "–", "–", "–"
    return (number(staffing.nurses, lang), percent(staffing.answer_rate, lang),
            wait(staffing.mean_wait_seconds, lang))


def _hour_row(hour: HourAdvice, lang: Lang, recovering: bool) -> HourRow:
    nurses, rate, mean_wait = _staffing(hour.target, lang)
    recover = hour.recover or hour.target  # where the target's staffing already saves the month
    recover_nurses, recover_rate, _ = _staffing(recover, lang) if recovering else ("", "", "")
    return HourRow(hour.start.astimezone(STOCKHOLM).isoformat(), _clock(hour.start),
                   number(hour.offered, lang, 1) if hour.offered is not None else "–", nurses, rate, mean_wait,
                   recover_nurses, recover_rate, _note(hour, lang), _staffed(hour.staffed, lang),
                   _staffed(hour.difference, lang, signed=True))


def _staffed(value: float | None, lang: Lang, signed: bool = False) -> str:
    if value is None:
        return ""
    text = number(value, lang, 1)
    return f"+{text}" if signed and value > 0 else text


def _estimate_row(region: str, hour: str, parameters: Parameters, lang: Lang) -> EstimateRow:
    handling: Estimate = parameters.handling_seconds
    patience: Estimate = parameters.patience_rate
    seconds = parameters.patience_seconds
    patience_text = "–" if patience.value is None else (
        word("no_abandons", lang) if seconds is None else wait(seconds, lang))
    bases = {handling.basis, patience.basis}
    basis = " / ".join(word(BASIS[b], lang) for b in ("slot", "region", "none") if b in bases)
    return EstimateRow(region, hour, wait(handling.value, lang) if handling.value is not None else "–",
                       number(handling.calls, lang), patience_text, number(patience.calls, lang),
                       number(patience.events, lang), basis)


def _nurse_hours(totals: Totals, lang: Lang) -> tuple[str, str]:
    recover = totals.nurse_hours_recover
    return number(totals.nurse_hours, lang), "" if recover is None else number(recover, lang)


def staffing_view(advice: StaffingAdvice, lang: Lang, api: str) -> StaffingView:
    """Today's hours of ``advice`` (made for today): the hours of the rest of the month are in the API's answer."""
    goal = []
    if advice.answer_rate_target is not None:
        goal.append(f"{kpi_in_text('answer_rate', lang)} ≥ {percent(advice.answer_rate_target, lang)}")
    if advice.mean_wait_target is not None:
        goal.append(f"{kpi_in_text('mean_wait', lang)} ≤ {wait(advice.mean_wait_target, lang)}")
    needed = percent(advice.needed_answer_rate, lang) if advice.needed_answer_rate is not None else ""
    today = [h for h in advice.hours if h.start < advice.day_end]
    estimates = []
    for region in advice.regions:
        name = clean(region.name, 200)
        estimates.append(_estimate_row(name, word("all_hours", lang), region.parameters.overall, lang))
        if region.parameters.slots:  # a region without stored hours has its overall "too little data" only
            estimates += [_estimate_row(name, _clock(h.start), h.parameters, lang)
                          for h in region.hours if h.start < advice.day_end]
    today_hours, today_recover = _nurse_hours(advice.today, lang)
    month_hours, month_recover = _nurse_hours(advice.month_rest, lang)
    goal_text = f"{capitalised(TERMS['target'].short[lang])}: {', '.join(goal) or '–'}"
    return StaffingView(
        title=title(lang), goal=goal_text, recovering=advice.recovering,
        staffed=any(h.staffed is not None for h in today), needed=needed,
        hours=[_hour_row(h, lang, advice.recovering) for h in today],
        nurse_hours={"today": today_hours, "today_recover": today_recover, "month": month_hours,
                     "month_recover": month_recover},
        estimates=estimates, api=api,
    )


def unavailable_view(reason: str, lang: Lang, api: str) -> StaffingView:
    return StaffingView(title(lang), api=api, unavailable=clean(reason, 200))
