"""The printable monthly board report as one HTML document (pure rendering: no I/O, no database).

One A4 page per ``ReportPage`` (a page break between them): the title, when it was made and on what data,
a boxed note when the month is in progress (with the forecast and what the rest of the month must achieve)
or the data are partial, a two-sentence summary, the scorecard table (the scope and its member regions),
thirteen months of answer rate and of mean wait against their targets (inline SVG, ``app.reports.svg``),
the month's five worst days and the definitions.

Print first: ``@page`` A4 with margins, black text, no background colour that carries meaning; every status
is a text mark (✓ ✗ ! – ○) besides its colour. No JavaScript, no external assets, the system font stack.
Every text from the database (scope names, codes) is escaped with ``html.escape``.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Literal

from app.kpi.catalog import RATIO_KPIS, SECONDS_KPIS
from app.kpi.glossary import NO_TARGET, RESOLUTIONS, Lang, status_word
from app.kpi.numbers import number, percent
from app.reports.board import (
    DayFigures,
    Figures,
    MonthPoint,
    Report,
    ReportPage,
    ScopeRow,
    TargetState,
    column_target,
)
from app.reports.board_css import CSS
from app.reports.board_text import (
    COMPARATOR,
    MARKS,
    MONTHS_SHORT,
    TEXT,
    WEEKDAYS_SHORT,
    delta,
    label,
    marks_legend,
    minutes_limit,
    moment,
    month_name,
    names_list,
    percent_judged,
    target_value,
    wait,
)
from app.reports.comparison_words import report_compared_with, summary_previous
from app.reports.small_multiples import render_small_multiples
from app.reports.source_words import in_swedish_time, sources_label, sources_text
from app.reports.svg import Chart, Slot, nice_ticks, render_chart

#: The scorecard table: header key, KPI shown, share shown under it, KPI of the change (under it), KPI of the mark.
COLUMNS: tuple[tuple[str, str, str | None, str | None, str | None], ...] = (
    ("offered", "offered", None, "offered", None),
    ("answered", "answered", None, "answered", None),
    ("answer_rate", "answer_rate", None, "answer_rate", "answer_rate"),
    ("mean_wait", "mean_wait", None, "mean_wait", "mean_wait"),
    ("service_level", "service_level", None, "service_level", "service_level"),
    ("abandoned", "abandoned", "abandon_rate", None, "abandon_rate"),
    ("rejected", "rejected", "rejected_rate", None, "rejected_rate"),
)

def render_report(report: Report, lang: Lang = "sv") -> str:
    t = TEXT[lang]
    month = month_name(report.month.month, report.month.year, lang)
    if len(report.pages) == 1:
        title = _title(report.pages[0].main.name, report.month, lang)
    else:
        title = f"{t['product']}, {month}"
    pages = [_page(report, page, lang) for page in report.pages]
    if not pages:
        pages = [f'<section class="page"><h1>{escape(title)}</h1><p class="meta">{_generated(report, lang)}</p>'
                 f'<div class="note"><p>{escape(t["no_pages"].format(month=month))}</p></div></section>']
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(pages) + "\n</body>\n</html>\n")


def _title(name: str, month: date, lang: Lang) -> str:
    return f"{TEXT[lang]['product']} — {name}, {month_name(month.month, month.year, lang)}"


def _generated(report: Report, lang: Lang) -> str:
    return escape(TEXT[lang]["generated"].format(when=moment(report.generated_at, lang),
                                                 month=report.month.strftime("%Y-%m")))


def _page(report: Report, page: ReportPage, lang: Lang) -> str:
    t = TEXT[lang]
    main = page.main
    parts = [
        f'<section class="page" data-scope="{escape(main.scope)}" data-kind="{escape(main.kind)}">',
        f"<header><h1>{escape(_title(main.name, report.month, lang))}</h1>",
        f'<p class="meta">{_generated(report, lang)}</p>',
    ]
    latest = page.completeness.latest_record_at
    if latest is not None and not page.completeness.partial:  # a partial month says the same in its note
        parts.append('<p class="meta">' + escape(t["basis"].format(
            hours=number(page.completeness.hours_with_data, lang),
            total=number(page.completeness.hours_in_month, lang),
            latest=moment(datetime.fromisoformat(latest), lang),
        )) + "</p>")
    if page.completeness.sources:  # SPEC §5: which feeds the figures are built on, and how far each has delivered
        listed = sources_text(page.completeness.sources, lang, in_swedish_time(lang))
        parts.append(f'<p class="meta sources">{escape(sources_label(lang))}: {escape(listed)}.</p>')
    parts.append("</header>")
    notes = _notes(report, page, lang)
    if notes:
        parts.append('<div class="note"><p>' + " ".join(escape(n) for n in notes) + "</p></div>")
    parts.append(_summary(page, lang))
    parts.append(_scorecard_table(report, page, lang))
    parts.append(_charts(page, lang))
    parts.append(render_small_multiples(page, lang, chart_for))
    parts.append('<div class="bottom">' + _worst_days(report, page, lang) + _definitions(report, lang) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _target_text(target: TargetState, lang: Lang) -> str:
    return f"{COMPARATOR[target.comparator]} {target_value(target.kpi, target.value, lang)}"


def _notes(report: Report, page: ReportPage, lang: Lang) -> list[str]:
    t = TEXT[lang]
    month = month_name(report.month.month, report.month.year, lang)
    notes: list[str] = []
    if not page.has_data:
        notes.append(t["no_data"].format(name=page.main.name, month=month))
    if report.in_progress:
        notes.append(t["in_progress"].format(month=month[0].upper() + month[1:],
                                             now=moment(report.generated_at, lang)))
        forecast = page.forecast
        if forecast is None:
            if page.has_data:
                notes.append(t["no_forecast"])
        else:
            notes.append(t["forecast_daily" if forecast.basis == "daily_average" else "forecast"].format(
                weeks=forecast.weeks, days=forecast.days, rest=number(forecast.expected_remaining_offered, lang),
                total=number(forecast.expected_total_offered, lang)))
            notes.extend(_needed(page.main, lang))
    resolution = page.completeness.resolution
    if page.has_data and resolution in RESOLUTIONS and resolution != "hour":  # coarse statistics: no hours
        notes.append(t["resolution"].format(resolution=RESOLUTIONS[resolution].short[lang],
                                            explained=RESOLUTIONS[resolution].long[lang]))
    if page.has_data and page.completeness.partial:
        latest = page.completeness.latest_record_at
        notes.append(t["partial"].format(
            hours=number(page.completeness.hours_with_data, lang), total=number(page.completeness.hours_in_month, lang),
            latest="–" if latest is None else moment(datetime.fromisoformat(latest), lang),
        ))
        notes.extend(_completeness_notes(page, month, lang))
    return notes


def _completeness_notes(page: ReportPage, month: str, lang: Lang) -> list[str]:
    """Why a partial month is partial: a region's late start; a collaboration's partial and missing members."""
    t, completeness = TEXT[lang], page.completeness
    notes = []
    if page.main.kind == "region" and completeness.starts_late and completeness.first_hour_with_data is not None:
        notes.append(t["starts_late"].format(first=moment(datetime.fromisoformat(completeness.first_hour_with_data),
                                                          lang)))
    if completeness.partial_members:
        notes.append(t["partial_members"].format(names=names_list(completeness.partial_members, lang)))
    if completeness.missing_members:
        notes.append(t["missing_members"].format(names=names_list(completeness.missing_members, lang), month=month))
    return notes


def _needed(row: ScopeRow, lang: Lang) -> list[str]:
    t = TEXT[lang]
    out = []
    rate = row.targets.get("answer_rate")
    if rate is not None and rate.needed is not None:
        key = "needed_rate_impossible" if rate.needed > 1 else "needed_rate_done" if rate.needed <= 0 else "needed_rate"
        out.append(t[key].format(target=_target_text(rate, lang), needed=percent(rate.needed, lang)))
    mean_wait = row.targets.get("mean_wait")
    if mean_wait is not None and mean_wait.needed is not None:
        if mean_wait.needed < 0:
            out.append(t["needed_wait_impossible"].format(target=_target_text(mean_wait, lang)))
        else:
            out.append(t["needed_wait"].format(target=_target_text(mean_wait, lang),
                                               needed=wait(mean_wait.needed, lang)))
    return out


def _mark(status: str, lang: Lang) -> str:
    word = status_word(status, lang)
    return (f'<span class="mark {escape(status)}" title="{escape(word)}" aria-label="{escape(word)}">'
            f"{escape(MARKS.get(status, ''))}</span>")


def _value(kpi: str, kpis: Figures | None, lang: Lang, target: TargetState | None = None) -> str:
    value = None if kpis is None else kpis.value(kpi)
    if value is not None and not isinstance(value, int | float):
        value = None
    comparator, bound = (target.comparator, target.value) if target is not None else (None, None)
    if kpi in RATIO_KPIS:
        return percent_judged(value, lang, comparator, bound)
    if kpi in SECONDS_KPIS:
        return wait(value, lang, comparator, bound)
    return number(value, lang)


def _summary(page: ReportPage, lang: Lang) -> str:
    t = TEXT[lang]
    row = page.main
    if row.kpis is None:
        return ""
    sentences = []
    for kpi in ("answer_rate", "mean_wait"):
        target = row.targets.get(kpi)
        value = _value(kpi, row.kpis, lang, target)
        if target is None:
            sentence = f"{escape(label(kpi, lang))} {escape(value)}."
        else:
            sentence = escape(t["summary"].format(kpi=label(kpi, lang), value=value,
                                                  target=_target_text(target, lang),
                                                  status=status_word(target.status, lang)))
            sentence = f"{_mark(target.status, lang)} {sentence}"
        if row.previous is not None:
            sentence += " " + escape(summary_previous(t["summary_previous"], bool(page.series)
                                                      and page.series[-1].in_progress, lang).format(
                value=_value(kpi, row.previous, lang)))
        sentences.append(f"<span>{sentence}</span>")
    return '<p class="summary">' + "<br>".join(sentences) + "</p>"


def _scorecard_table(report: Report, page: ReportPage, lang: Lang) -> str:
    t = TEXT[lang]
    head = [f'<th scope="col">{escape(t["area"])}</th>']
    for key, _kpi, _share, _delta, target_kpi in COLUMNS:
        sub = ""
        target, of_members = column_target(page, target_kpi)
        if key == "service_level":
            sub = t["within"].format(limit=minutes_limit(report.sl_seconds, lang))
        if target is not None:
            sub = (sub + ", " if sub else "") + t["members_target" if of_members else "target"].format(
                comparator=COMPARATOR[target.comparator], value=target_value(target.kpi, target.value, lang))
        head.append(f'<th scope="col">{escape(label(key, lang))}'
                    + (f'<span class="sub">{escape(sub)}</span>' if sub else "") + "</th>")
    headed = {kpi: column_target(page, kpi)[0] for *_rest, kpi in COLUMNS if kpi is not None}
    rows = [_table_row(page.main, headed, "main", lang)]
    rows += [_table_row(member, headed, "member", lang) for member in page.members]
    previous = report_compared_with(report.previous_month, report.generated_at, report.in_progress, lang) or \
        month_name(report.previous_month.month, report.previous_month.year, lang)
    legend = t["table_legend"].format(previous=previous, marks=marks_legend(lang))
    if len(page.series) > 1 and page.series[-2].partial and page.series[-2].has_data:
        legend += " " + t["previous_partial"].format(previous=previous)
    return (f'<table class="scorecard"><thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f'</table><p class="legend">{escape(legend)}</p>')


def _table_row(row: ScopeRow, headed: dict[str, TargetState | None], css: str, lang: Lang) -> str:
    t = TEXT[lang]
    name = escape(row.name) + ("" if row.kpis is not None else f'<span class="sub">{escape(t["no_data_cell"])}</span>')
    cells = [f'<th scope="row">{name}</th>']
    for _key, kpi, share, delta_kpi, target_kpi in COLUMNS:
        target = row.targets.get(target_kpi) if target_kpi else None
        html = escape(_value(kpi, row.kpis, lang, target if target_kpi == kpi else None))
        status = ""
        if target is not None and row.kpis is not None:
            html += "&#160;" + _mark(target.status, lang)
            status = f' data-status="{escape(target.status)}"'
        if share is not None and row.kpis is not None and row.kpis.value(share) is not None:
            html += f'<span class="delta share">{escape(_value(share, row.kpis, lang, target))}</span>'
        if delta_kpi is not None and row.delta is not None and row.delta.get(delta_kpi) is not None:
            html += f'<span class="delta">{escape(delta(delta_kpi, row.delta[delta_kpi], lang))}</span>'
        column = headed.get(target_kpi) if target_kpi else None
        if target is not None and (column is None or (column.comparator, column.value)
                                   != (target.comparator, target.value)):
            own = t["target"].format(comparator=COMPARATOR[target.comparator],
                                     value=target_value(target.kpi, target.value, lang))
            html += f'<span class="delta">{escape(own)}</span>'
        cells.append(f'<td data-kpi="{kpi}"{status}>{html}</td>')
    return f'<tr class="{css}" data-scope="{escape(row.scope)}">{"".join(cells)}</tr>'


def _short_month(month: date, lang: Lang) -> str:
    return f"{MONTHS_SHORT[lang][month.month - 1]} {month.year}"


def chart_for(page: ReportPage, kpi: str, lang: Lang) -> Chart:
    """The thirteen-month chart of ``answer_rate`` (bars, %) or ``mean_wait`` (a line, minutes)."""
    t = TEXT[lang]
    series = page.series
    ticks: list[tuple[float, str]]
    style: Literal["bars", "line"]
    slots = [_slot(point, i, i == len(series) - 1, kpi, lang) for i, point in enumerate(series)]
    if kpi == "answer_rate":
        ticks = [(float(v), number(v, lang)) for v in range(0, 101, 20)]
        title, style, unit = t["chart_rate"], "bars", "%"
    else:
        highest = max([s.value for s in slots if s.value is not None]
                      + [s.target for s in slots if s.target is not None] + [0.0])
        ticks = [(v, number(v, lang)) for v in nice_ticks(highest, minimum_top=5)]
        title, style, unit = t["chart_wait"], "line", "min"
    first, last = series[0].month, series[-1].month
    return Chart(kpi=kpi, title=title.format(first=_short_month(first, lang), last=_short_month(last, lang)),
                 style=style, unit=unit, ticks=ticks, slots=slots,
                 no_data_label=t["no_data_cell"])


def _slot(point: MonthPoint, index: int, last: bool, kpi: str, lang: Lang) -> Slot:
    t = TEXT[lang]
    raw = point.kpis.value(kpi)
    target = point.targets.get(kpi)
    if kpi == "answer_rate":
        value = None if raw is None else raw * 100
        label = "" if raw is None else number(raw * 100, lang, 1)
        target_axis = None if target is None else target.value * 100
    else:
        value = None if raw is None else raw / 60
        label = "" if raw is None else wait(raw, lang)
        target_axis = None if target is None else target.value / 60
    status = "no_target" if target is None else target.status
    described = t["slot"].format(month=month_name(point.month.month, point.month.year, lang),
                                 value=_value(kpi, point.kpis, lang, target) if raw is not None else t["no_data_cell"])
    if target is not None:
        described += " — " + t["slot_target"].format(target=_target_text(target, lang),
                                                     status=status_word(target.status, lang))
    else:
        described += " — " + status_word(NO_TARGET, lang)
    return Slot(
        key=point.month.strftime("%Y-%m"), label=MONTHS_SHORT[lang][point.month.month - 1],
        sublabel=str(point.month.year) if index == 0 or point.month.month == 1 else "",
        value=value, value_label=label, target=target_axis, status=status, mark=MARKS.get(status, ""),
        highlight=last, in_progress=point.in_progress, title=described,
    )


def _charts(page: ReportPage, lang: Lang) -> str:
    t = TEXT[lang]
    figures = []
    for kpi, legend in (("answer_rate", "chart_rate_legend"), ("mean_wait", "chart_wait_legend")):
        chart = chart_for(page, kpi, lang)
        figures.append(f'<figure data-kpi="{kpi}"><figcaption><strong>{escape(chart.title)}</strong> '
                       f"{escape(t[legend])}</figcaption>{render_chart(chart)}</figure>")
    marks = marks_legend(lang, ("met", "missed", "at_risk", "no_target", "no_data"))
    return "".join(figures) + f'<p class="legend">{escape(t["chart_legend"].format(marks=marks))}</p>'


def _day(day: DayFigures, lang: Lang) -> str:
    return f"{WEEKDAYS_SHORT[lang][day.day.weekday()]} {day.day.day} {MONTHS_SHORT[lang][day.day.month - 1]}"


def _worst_days(report: Report, page: ReportPage, lang: Lang) -> str:
    t = TEXT[lang]
    month = month_name(report.month.month, report.month.year, lang)
    out = [f'<section class="worst"><h2>{escape(t["worst_title"])}</h2>',
           f'<p class="legend">{escape(t["worst_intro"].format(month=month, n=len(page.worst_days)))}</p>']
    if not page.worst_days:
        out.append(f"<p>{escape(t['no_days'])}</p></section>")
        return "".join(out)
    head = "".join(f'<th scope="col">{escape(label(k, lang))}</th>'
                   for k in ("day", "offered", "answered", "answer_rate", "mean_wait"))
    rows = "".join(
        f'<tr data-date="{d.day.isoformat()}"><th scope="row">{escape(_day(d, lang))}</th>'
        f'<td data-kpi="offered">{escape(number(d.offered, lang))}</td>'
        f'<td data-kpi="answered">{escape(number(d.answered, lang))}</td>'
        f'<td data-kpi="answer_rate">{escape(percent(d.answer_rate, lang))}</td>'
        f'<td data-kpi="mean_wait">{escape(wait(d.mean_wait, lang))}</td></tr>'
        for d in page.worst_days
    )
    out.append(f'<table class="worst-days"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>')
    return "".join(out)


def _definitions(report: Report, lang: Lang) -> str:
    t = TEXT[lang]
    short = (t["def_short"].format(seconds=report.short_abandon_seconds) if report.short_abandon_seconds
             else t["def_short_none"])
    items = [
        t["def_offered"].format(short=short), t["def_answered"],
        t["def_rate"].format(limit=minutes_limit(report.sl_seconds, lang)), t["def_wait"], t["def_abandoned"],
        t["def_sum"], t["def_time"],
    ]
    return (f'<footer class="definitions"><h2>{escape(t["definitions"])}</h2><ul>'
            + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul></footer>")
