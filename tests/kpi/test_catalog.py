"""The KPI catalogue and the glossary: one home for every fact about a KPI and every status word (issue 13).

No database: ``app.kpi`` is pure.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from app.kpi.catalog import (
    CATALOG,
    HEADLINE_KEYS,
    HIGHER_IS_BETTER,
    KPI_KEYS,
    RATIO_KPIS,
    SECONDS_KPIS,
    TARGETABLE_KEYS,
    TARGETABLE_KPIS,
    kpi_in_text,
    kpi_name,
)
from app.kpi.counts import Counts
from app.kpi.formulas import Kpis, compute_kpis
from app.kpi.glossary import LANGS, NO_TARGET, STATUS_WORDS, STATUSES, status_explained, status_mark, status_word
from app.kpi.reference import DEFAULT_TARGETS
from app.kpi.targets import Status

KPI_PACKAGE = Path(__file__).resolve().parents[2] / "app" / "kpi"


def test_the_catalogue_and_the_formulas_name_the_same_kpis_in_the_same_order() -> None:
    assert tuple(f.name for f in fields(Kpis)) == KPI_KEYS
    assert tuple(compute_kpis(Counts(answered=3, rejected=1)).as_dict()) == KPI_KEYS
    assert len(set(KPI_KEYS)) == len(KPI_KEYS)


def test_every_spec_is_consistent_with_its_unit() -> None:
    for spec in CATALOG:
        if spec.targetable:  # a target needs a direction and a unit a bound can be checked in
            assert spec.unit in ("ratio", "seconds") and spec.better is not None, spec.key
        if spec.unit == "ratio" or spec.unit == "seconds":
            assert spec.nullable, spec.key  # a zero denominator or unknown waits: null (SPEC §4)
        assert spec.decimals == (1 if spec.unit == "ratio" else 0), spec.key
        for term in (spec.name, spec.short, spec.in_text, spec.definition):
            assert term.sv.strip() and term.en.strip(), spec.key
    assert RATIO_KPIS | SECONDS_KPIS == TARGETABLE_KPIS == set(TARGETABLE_KEYS)
    assert {"answer_rate", "service_level"} == HIGHER_IS_BETTER


def test_the_headline_kpis_are_those_with_a_default_target_and_its_direction() -> None:
    assert tuple(kpi for kpi, _, _ in DEFAULT_TARGETS) == HEADLINE_KEYS
    for kpi, comparator, _ in DEFAULT_TARGETS:
        assert comparator == (">=" if kpi in HIGHER_IS_BETTER else "<=")


def test_the_swedish_names_are_those_of_spec_section_4() -> None:
    assert [kpi_name(k, "sv").lower() for k in ("offered", "answered", "abandoned", "short_abandons", "rejected",
                                                 "answer_rate", "mean_wait", "mean_wait_all", "abandon_rate",
                                                 "rejected_rate", "service_level", "longest_wait")] == [
        "inkommande samtal", "besvarade", "avbrutna", "korta avbrott", "kön full", "svarsfrekvens", "medelväntetid",
        "medelväntetid alla", "andel avbrutna", "andel kön full", "servicenivå", "längsta väntetid"]
    assert kpi_in_text("answer_rate", "sv") == "svarsfrekvensen"  # the definite form, for sentences
    assert kpi_name("not_a_kpi", "en") == "not_a_kpi" == kpi_in_text("not_a_kpi", "sv")  # an old alert key


def test_the_glossary_has_one_short_and_one_long_wording_per_status_and_language() -> None:
    assert set(STATUSES) == {s.value for s in Status}
    assert set(STATUS_WORDS) == {*STATUSES, NO_TARGET}
    for lang in LANGS:
        shorts = [status_word(s, lang) for s in STATUS_WORDS]
        assert len(set(shorts)) == len(shorts), lang  # no two statuses read alike
        for status in STATUS_WORDS:
            assert STATUS_WORDS[status].long[lang] not in shorts
    assert [status_word(s, "sv") for s in STATUSES] == [
        "uppfyllt", "ej uppfyllt", "ingen data", "i fas", "i fara", "kan inte nås"]
    assert [status_word(s, "en") for s in STATUSES] == [
        "met", "missed", "no data", "on track", "at risk", "unreachable"]
    assert status_explained("on_track", "sv") == "pågående månad: målet nås om resten av månaden går som prognosen"
    assert status_explained("met", "en") == "closed month: the target was reached"
    assert status_explained("no_data", "en").startswith("nothing to judge")
    assert {s: status_mark(s) for s in STATUS_WORDS} == {
        "met": "✓", "on_track": "✓", "missed": "✗", "unreachable": "✗", "at_risk": "!", "no_data": "–",
        "no_target": "○"}
    assert status_word("later_status", "sv") == "later_status" and status_mark("later_status") == ""


@pytest.mark.parametrize("module", sorted(p.name for p in KPI_PACKAGE.glob("*.py")))
def test_the_kpi_package_imports_nothing_of_the_app_outside_it(module: str) -> None:
    tree = ast.parse((KPI_PACKAGE / module).read_text(encoding="utf-8"))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    for name in imported:
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name == "__future__" or name.startswith("app.kpi"), (module, name)
