"""Words and number formats of the printable report, in Swedish (the default) and English.

Numbers follow the language: ``84,3 %`` and ``12 345`` in Swedish (non-breaking spaces), ``84.3%`` and
``12,345`` in English. Waits are minutes and seconds (``6:05``). Changes of a ratio are percentage points.
A ratio or wait shown next to a status never contradicts it by rounding: 84.96 % against a target of
85 % shows as ``84,96 %``, not ``85,0 %``.
"""

from __future__ import annotations

from datetime import datetime

from app.kpi.catalog import KPIS, RATIO_KPIS, SECONDS_KPIS
from app.kpi.glossary import STATUS_WORDS, UNITS, Lang, status_word
from app.kpi.localtime import STOCKHOLM
from app.kpi.numbers import MINUS, NBSP, number, percent
from app.reports.judged import decimals
from app.reports.terminal import format_seconds

COMPARATOR = {">=": "≥", "<=": "≤"}
MARKS = {status: words.mark for status, words in STATUS_WORDS.items()}

MONTHS: dict[Lang, tuple[str, ...]] = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
MONTHS_SHORT: dict[Lang, tuple[str, ...]] = {
    "sv": ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
WEEKDAYS_SHORT: dict[Lang, tuple[str, ...]] = {
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
TEXT: dict[Lang, dict[str, str]] = {
    "sv": {
        "product": "Tillgänglighet 1177 Vårdguiden på telefon",
        "generated": "Skapad {when} (svensk tid) av vpt-monitor. Samma siffror som styrkortet "
                     "/api/v1/scorecards/{month}.",
        "basis": "Underlag: samtal under {hours} av månadens {total} timmar; senaste samtal {latest}.",
        "in_progress": "{month} pågår: siffrorna gäller månaden hittills, till och med {now}.",
        "forecast": "Prognos (samma veckodag och timme de senaste {weeks} veckorna): ytterligare cirka {rest} "
                    "inkommande samtal, cirka {total} för hela månaden.",
        "forecast_daily": "Prognos (genomsnittsdagen i de dagliga siffrorna hittills, {days} dagar, utan "
                          "veckodagsmönster): ytterligare cirka {rest} inkommande samtal, cirka {total} för hela "
                          "månaden.",
        "resolution": "Underlaget är {resolution}: {explained}.",
        "needed_rate": "För att nå målet för svarsfrekvens ({target}) behöver {needed} av de förväntade "
                       "samtalen resten av månaden besvaras.",
        "needed_rate_done": "Målet för svarsfrekvens ({target}) nås även om inga fler samtal besvaras.",
        "needed_rate_impossible": "Målet för svarsfrekvens ({target}) kan inte längre nås: {needed} av de "
                                  "förväntade samtalen resten av månaden skulle behöva besvaras.",
        "needed_wait": "Medelväntetiden för de förväntade samtalen resten av månaden får vara högst {needed} för "
                       "att nå målet ({target}).",
        "needed_wait_impossible": "Målet för medelväntetid ({target}) kan inte längre nås.",
        "no_forecast": "Det finns för lite historik för en prognos; status bedöms på månaden hittills.",
        "partial": "Ofullständigt underlag: samtal under {hours} av {total} timmar, senaste samtal {latest}. "
                   "Siffrorna kan ändras när resterande data kommer in.",
        "starts_late": "Underlaget börjar först {first}.",
        "partial_members": "Ofullständigt underlag från {names}.",
        "missing_members": "Ingen data från {names} i {month}; samverkans siffror omfattar bara de övriga "
                           "medlemsregionerna.",
        "and": "och",
        "no_data": "Inga samtal är registrerade för {name} i {month}.",
        "no_pages": "Inga samtal är registrerade för {month}.",
        "summary": "{kpi} {value} mot målet {target}: {status}.",
        "summary_previous": "Föregående månad {value}.",
        "area": "Område", "target": "mål {comparator} {value}", "within": "inom {limit}",
        "members_target": "regionernas mål {comparator} {value}",
        "table_legend": "Liten text: förändring mot {previous} (p.e. = procentenheter); under avbrutna och kön "
                        "full andelen av inkommande. Väntetider i min:s. {marks}.",
        "previous_partial": "Obs: underlaget för {previous} är ofullständigt, så förändringarna är osäkra.",
        "no_data_cell": "ingen data",
        "chart_rate": "Svarsfrekvens per månad, {first} – {last}",
        "chart_wait": "Medelväntetid per månad (minuter), {first} – {last}",
        "chart_rate_legend": "Staplar: andel besvarade av inkommande samtal.",
        "chart_wait_legend": "Linje: medelväntetid för besvarade samtal.",
        "chart_legend": "Streckad linje: målet som gällde. Under axeln: {marks}. * pågående månad (hittills).",
        "slot": "{month}: {value}", "slot_target": "mål {target}: {status}",
        "worst_title": "Månadens sämsta dagar",
        "worst_intro": "De {n} dagar i {month} med lägst svarsfrekvens, bland dagar med samtal.",
        "day": "Dag", "no_days": "Inga dagar med samtal.",
        "definitions": "Definitioner",
        "def_offered": "Inkommande samtal = besvarade + avbrutna + kön full. {short}",
        "def_short_none": "Korta avbrott räknas inte bort (gränsen är 0 s).",
        "def_short": "Samtal som läggs på inom {seconds} s (korta avbrott) räknas inte.",
        "def_answered": "Besvarade: av sjuksköterska i valfri region; samtalet räknas till uppringarens region.",
        "def_rate": "Svarsfrekvens = besvarade / inkommande. Servicenivå = andel av inkommande som besvarades "
                    "inom {limit}.",
        "def_wait": "Medelväntetid = sammanlagd kötid för besvarade samtal / antal besvarade (tid i kö efter "
                    "menyvalet).",
        "def_abandoned": "Avbrutna: uppringaren lade på i kön. Kön full: fick beskedet att ringa senare och "
                         "köades aldrig.",
        "def_sum": "Samverkans siffror räknas från regionernas summerade samtal, inte som medelvärde av andelar.",
        "def_time": "Ett samtal hör till den dag och månad (svensk tid) då det kom in. En avslutad månad bedöms "
                    "mot det mål som gällde då.",
    },
    "en": {
        "product": "Accessibility of 1177 Vårdguiden på telefon",
        "generated": "Generated {when} (Swedish time) by vpt-monitor. The same figures as the scorecard "
                     "/api/v1/scorecards/{month}.",
        "basis": "Basis: calls in {hours} of the month's {total} hours; latest call {latest}.",
        "in_progress": "{month} is in progress: figures are for the month so far, up to {now}.",
        "forecast": "Forecast (same weekday and hour over the last {weeks} weeks): about {rest} more incoming "
                    "calls, about {total} for the whole month.",
        "forecast_daily": "Forecast (the mean day of the daily figures so far, {days} days, with no weekday "
                          "pattern): about {rest} more incoming calls, about {total} for the whole month.",
        "resolution": "The data are {resolution}: {explained}.",
        "needed_rate": "To meet the answer-rate target ({target}), {needed} of the expected calls in the rest of "
                       "the month must be answered.",
        "needed_rate_done": "The answer-rate target ({target}) is met even if no more calls are answered.",
        "needed_rate_impossible": "The answer-rate target ({target}) can no longer be met: {needed} of the "
                                  "expected calls in the rest of the month would have to be answered.",
        "needed_wait": "The mean wait of the expected calls in the rest of the month may be at most {needed} to "
                       "meet the target ({target}).",
        "needed_wait_impossible": "The mean-wait target ({target}) can no longer be met.",
        "no_forecast": "Too little history for a forecast; status is judged on the month so far.",
        "partial": "Partial data: calls in {hours} of {total} hours, latest call {latest}. Figures may change "
                   "when the rest of the data arrives.",
        "starts_late": "The data begin only at {first}.",
        "partial_members": "Partial data from {names}.",
        "missing_members": "No data from {names} in {month}; the collaboration's figures cover only the other "
                           "member regions.",
        "and": "and",
        "no_data": "No calls are recorded for {name} in {month}.",
        "no_pages": "No calls are recorded for {month}.",
        "summary": "{kpi} {value} against the target {target}: {status}.",
        "summary_previous": "Previous month {value}.",
        "area": "Area", "target": "target {comparator} {value}", "within": "within {limit}",
        "members_target": "the regions' target {comparator} {value}",
        "table_legend": "Small print: change against {previous} (pp = percentage points); under abandoned and "
                        "rejected, the share of offered calls. Waits in min:s. {marks}.",
        "previous_partial": "Note: the data for {previous} are partial, so the changes are uncertain.",
        "no_data_cell": "no data",
        "chart_rate": "Answer rate by month, {first} – {last}",
        "chart_wait": "Mean wait by month (minutes), {first} – {last}",
        "chart_rate_legend": "Bars: share of offered calls answered.",
        "chart_wait_legend": "Line: mean wait of answered calls.",
        "chart_legend": "Dashed line: the target in force. Below the axis: {marks}. * month in progress (so far).",
        "slot": "{month}: {value}", "slot_target": "target {target}: {status}",
        "worst_title": "Worst days of the month",
        "worst_intro": "The {n} days of {month} with the lowest answer rate, among days with calls.",
        "day": "Day", "no_days": "No days with calls.",
        "definitions": "Definitions",
        "def_offered": "Offered = answered + abandoned + rejected (queue full). {short}",
        "def_short_none": "Short abandons are not excluded (the threshold is 0 s).",
        "def_short": "Calls hung up within {seconds} s (short abandons) are not counted.",
        "def_answered": "Answered: by a nurse of any region; a call belongs to the caller's region.",
        "def_rate": "Answer rate = answered / offered. Service level = share of offered calls answered "
                    "within {limit}.",
        "def_wait": "Mean wait = total queueing time of answered calls / answered calls (time in the queue after "
                    "the menu).",
        "def_abandoned": "Abandoned: the caller hung up while queued. Rejected (queue full): told to call later, "
                         "never queued.",
        "def_sum": "A collaboration's figures are computed from its regions' summed calls, never by averaging "
                   "ratios.",
        "def_time": "A call belongs to the day and month (Swedish time) in which it arrived. A closed month is "
                    "judged by the target in force then.",
    },
}


def label(key: str, lang: Lang) -> str:
    """A KPI's name from the catalogue, or another word of the report ("area", "day")."""
    spec = KPIS.get(key)
    return TEXT[lang][key] if spec is None else spec.name[lang]


def marks_legend(lang: Lang, statuses: tuple[str, ...] = ("met", "missed", "at_risk", "no_data")) -> str:
    """"✓ uppfyllt  ✗ ej uppfyllt …", each mark bound to its word by a non-breaking space."""
    return "  ".join(f"{MARKS[s]}{NBSP}{status_word(s, lang)}" for s in statuses)


def names_list(names: tuple[str, ...] | list[str], lang: Lang) -> str:
    """"A, B och C" / "A, B and C"."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {TEXT[lang]['and']} {names[-1]}"


def ratio_digits(value: float | None, comparator: str | None, bound: float | None) -> int:
    """Decimals of a percentage: one, or more where one would round across the target (84.96 % against 85 %)."""
    return 1 if value is None else decimals(value, comparator, bound, scale=100, least=1)


def percent_judged(value: float | None, lang: Lang, comparator: str | None, bound: float | None) -> str:
    return percent(value, lang, ratio_digits(value, comparator, bound))


def wait(seconds: float | None, lang: Lang, comparator: str | None = None, bound: float | None = None) -> str:
    """m:ss; with decimals of a second where whole seconds would round across the target (600.4 s, 600.04 s vs
    600)."""
    if seconds is None:
        return "–"
    digits = decimals(seconds, comparator, bound)
    if digits == 0:
        return format_seconds(seconds)
    minutes, rest = divmod(round(seconds, digits), 60)  # rounded first: 599.996 is never 9:60.00
    text = f"{int(minutes)}:{rest:0{digits + 3}.{digits}f}"
    return text.replace(".", ",") if lang == "sv" else text


def minutes_limit(seconds: float, lang: Lang) -> str:
    """A limit in words: 10 min, 1:30 min."""
    text = f"{round(seconds) // 60}" if round(seconds) % 60 == 0 else format_seconds(seconds)
    return f"{text}{NBSP}{UNITS['minutes'].short[lang]}"


def target_value(kpi: str, value: float, lang: Lang) -> str:
    if kpi in RATIO_KPIS:
        whole = round(value * 100, 6) == round(value * 100)
        return percent(value, lang, 0 if whole else 1)
    if kpi in SECONDS_KPIS:
        return minutes_limit(value, lang)
    return number(value, lang)


def signed(text: str, value: float) -> str:
    if text.startswith(MINUS):
        return text
    return ("±" if value == 0 else "+") + text


def delta(kpi: str, value: float | None, lang: Lang) -> str:
    if value is None:
        return ""
    if kpi in RATIO_KPIS:
        points = round(value * 100, 1) or 0.0  # no "−0,0"
        return signed(number(points, lang, 1), points) + f"{NBSP}{UNITS['points'].short[lang]}"
    if kpi in SECONDS_KPIS:
        text = format_seconds(abs(value))
        return ("±" if round(value) == 0 else "+" if value > 0 else MINUS) + text
    return signed(number(value, lang), value)


def month_name(month_number: int, year: int, lang: Lang) -> str:
    return f"{MONTHS[lang][month_number - 1]} {year}"


def moment(when: datetime, lang: Lang, *, with_year: bool = True) -> str:
    """An aware instant in Swedish time: 3 november 2025 kl. 08:15 / 3 November 2025, 08:15."""
    local = when.astimezone(STOCKHOLM)
    day = f"{local.day} {MONTHS[lang][local.month - 1]}" + (f" {local.year}" if with_year else "")
    return f"{day} kl. {local:%H:%M}" if lang == "sv" else f"{day}, {local:%H:%M}"
