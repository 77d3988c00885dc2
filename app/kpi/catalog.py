"""The KPI catalogue: one ``KpiSpec`` per KPI of SPEC §4, and every list of KPIs derived from it.

Whatever shows, checks or exports a KPI reads its facts here: its unit (how it is formatted and what a target
may be), which direction is better (the default comparator of a target), whether a target may bound it, how
many decimals a person sees, its names in Swedish and English and its definition. Adding a KPI that derives
from existing counts is then a ``KpiSpec`` here, its formula in ``app.kpi.formulas`` and tests: the scorecard,
its API schema, the exports, the target rules and the alert texts pick it up from here.

The order of ``CATALOG`` is the order of a scorecard's ``kpis`` (the reference fixtures and the JSON keep it).

Pure data: imports nothing of the app outside ``app.kpi``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.kpi.glossary import Lang, Term

Unit = Literal["ratio", "seconds", "count"]
Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class KpiSpec:
    key: str
    #: ratio: a fraction 0..1, shown as a percentage; seconds: a wait; count: a number of calls
    unit: Unit
    #: None for a volume: more calls is neither good nor bad
    better: Better | None
    #: a target may bound it (never a raw count: a volume is not a level of service)
    targetable: bool
    #: decimals a person sees: of the percentage for a ratio (84,3 %), of the seconds for a wait, of a count
    decimals: int
    #: the label: a column header, a table heading ("Svarsfrekvens")
    name: Term
    #: the label where space is short (a terminal column)
    short: Term
    #: the KPI inside a sentence; Swedish in the definite form ("svarsfrekvensen är 81,2 %")
    in_text: Term
    #: how it is computed, in words a manager reads
    definition: Term
    #: may be null: a zero denominator, waits the source did not report, a collaboration's cross-region counts
    nullable: bool
    #: SPEC §6 gives it a default target: every summary shows it with its target, status and change
    headline: bool
    #: exported as a Prometheus gauge per scope and window (the rest PromQL computes from the counters)
    gauge: bool


def _spec(key: str, unit: Unit, better: Better | None, name: tuple[str, str], in_text: tuple[str, str],
          definition: tuple[str, str], *, short: tuple[str, str] | None = None, targetable: bool | None = None,
          nullable: bool | None = None, headline: bool = False, gauge: bool = False) -> KpiSpec:
    """A ratio or a wait is targetable and may be null; a count is neither unless said."""
    measured = unit != "count"
    return KpiSpec(
        key=key, unit=unit, better=better, targetable=measured if targetable is None else targetable,
        decimals=1 if unit == "ratio" else 0,
        name=Term(*name), short=Term(*(short or name)), in_text=Term(*in_text), definition=Term(*definition),
        nullable=measured if nullable is None else nullable, headline=headline, gauge=gauge,
    )


_WAIT_SV = "av besvarade samtal, uppskattad ur väntetidshistogrammet; bara samtalsdata"
_WAIT_EN = "of answered calls, estimated from the wait histogram; call-level data only"

CATALOG: tuple[KpiSpec, ...] = (
    _spec("offered", "count", None, ("Inkommande samtal", "Offered"), ("inkommande samtal", "offered calls"),
          ("besvarade + avbrutna + kön full, utan korta avbrott",
           "answered + abandoned + rejected, excluding short abandons"),
          short=("Inkommande", "Offered"), gauge=True),
    _spec("answered", "count", None, ("Besvarade", "Answered"), ("besvarade samtal", "answered calls"),
          ("besvarade av en sjuksköterska i någon region", "answered by a nurse of any region"), gauge=True),
    _spec("abandoned", "count", None, ("Avbrutna", "Abandoned"), ("avbrutna samtal", "abandoned calls"),
          ("lade på i kön efter minst short_abandon_seconds",
           "hung up while queued, after at least short_abandon_seconds"), gauge=True),
    _spec("short_abandons", "count", None, ("Korta avbrott", "Short abandons"), ("korta avbrott", "short abandons"),
          ("lade på före short_abandon_seconds; ingår inte i inkommande samtal",
           "hung up before short_abandon_seconds; not part of offered")),
    _spec("rejected", "count", None, ("Kön full", "Rejected (queue full)"),
          ("samtal som inte kom in i kön", "rejected calls (queue full)"),
          ("kom aldrig in i kön: överbelastningsskydd, uppmanades ringa senare",
           "never queued: overload protection, told to call later"),
          short=("Kön full", "Queue full"), gauge=True),
    _spec("answer_rate", "ratio", "higher", ("Svarsfrekvens", "Answer rate"), ("svarsfrekvensen", "answer rate"),
          ("besvarade / inkommande samtal", "answered / offered"), headline=True, gauge=True),
    _spec("mean_wait", "seconds", "lower", ("Medelväntetid", "Mean wait"), ("medelväntetiden", "mean wait"),
          ("summa väntetid för besvarade samtal / besvarade", "total wait of answered calls / answered"),
          headline=True, gauge=True),
    _spec("mean_wait_all", "seconds", "lower", ("Medelväntetid alla", "Mean wait all"),
          ("medelväntetiden för alla samtal", "mean wait (all calls)"),
          ("(väntetid besvarade + väntetid avbrutna) / (besvarade + avbrutna)",
           "(wait of answered + wait of abandoned) / (answered + abandoned)")),
    _spec("abandon_rate", "ratio", "lower", ("Andel avbrutna", "Abandon rate"),
          ("andelen avbrutna samtal", "abandon rate"), ("avbrutna / inkommande samtal", "abandoned / offered")),
    _spec("rejected_rate", "ratio", "lower", ("Andel kön full", "Rejected rate"),
          ("andelen samtal som inte kom in i kön", "rejected rate"),
          ("kön full / inkommande samtal", "rejected / offered")),
    _spec("service_level", "ratio", "higher", ("Servicenivå", "Service level"), ("servicenivån", "service level"),
          ("besvarade inom gränsen sl_seconds / inkommande samtal", "answered within sl_seconds / offered"),
          gauge=True),
    _spec("wait_p50", "seconds", "lower", ("Median väntetid", "Median wait"), ("medianväntetiden", "median wait"),
          ("median " + _WAIT_SV, "median " + _WAIT_EN)),
    _spec("wait_p90", "seconds", "lower", ("90:e percentil väntetid", "90th percentile wait"),
          ("väntetiden för 90 % av samtalen", "90th percentile wait"),
          ("90:e percentilen " + _WAIT_SV, "90th percentile " + _WAIT_EN)),
    _spec("longest_wait", "seconds", "lower", ("Längsta väntetid", "Longest wait"),
          ("den längsta väntetiden", "longest wait"),
          ("längsta väntetiden för ett besvarat samtal", "longest wait of an answered call")),
    _spec("answered_by_other_regions", "count", None, ("Besvarade av annan region", "Answered by other regions"),
          ("samtal besvarade av annan region", "calls answered by other regions"),
          ("regionens samtal som besvarades av en annan region, där källan anger det; anges inte för en samverkan",
           "this region's calls answered by another region, where the source says so; not given for a collaboration"),
          nullable=True),
    _spec("answered_for_other_regions", "count", None, ("Besvarade åt annan region", "Answered for other regions"),
          ("samtal besvarade åt annan region", "calls answered for other regions"),
          ("andra regioners samtal som besvarades här; anges inte för en samverkan",
           "other regions' calls answered here; not given for a collaboration"),
          nullable=True),
)

KPIS: dict[str, KpiSpec] = {spec.key: spec for spec in CATALOG}
#: The KPI keys of a scorecard, in presentation order (they match ../shared/fixtures/expected_*.json).
KPI_KEYS: tuple[str, ...] = tuple(KPIS)
#: KPIs that a target may bound, in catalogue order (the API's enum of a target's ``kpi``).
TARGETABLE_KEYS: tuple[str, ...] = tuple(s.key for s in CATALOG if s.targetable)
TARGETABLE_KPIS: frozenset[str] = frozenset(TARGETABLE_KEYS)
RATIO_KPIS: frozenset[str] = frozenset(s.key for s in CATALOG if s.unit == "ratio")
SECONDS_KPIS: frozenset[str] = frozenset(s.key for s in CATALOG if s.unit == "seconds")
COUNT_KPIS: frozenset[str] = frozenset(s.key for s in CATALOG if s.unit == "count")
HIGHER_IS_BETTER: frozenset[str] = frozenset(s.key for s in CATALOG if s.better == "higher")
HEADLINE_KEYS: tuple[str, ...] = tuple(s.key for s in CATALOG if s.headline)


def spec_of(key: str) -> KpiSpec | None:
    """The spec of a KPI key, or None for a key that is not a KPI (an alert about data, an old stored row)."""
    return KPIS.get(key)


def kpi_name(key: str, lang: Lang) -> str:
    spec = KPIS.get(key)
    return key if spec is None else spec.name[lang]


def kpi_in_text(key: str, lang: Lang) -> str:
    spec = KPIS.get(key)
    return key if spec is None else spec.in_text[lang]
