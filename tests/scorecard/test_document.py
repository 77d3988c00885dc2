"""The typed scorecard document (app/scorecard/document.py) and its serialisation (app/api/schemas.py) agree:
the same fields in the same order, so the JSON cannot drift from what readers read. Pure, no database."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from app.api import breakdown_schemas, schemas
from app.api.routers.scorecards import scorecard_json
from app.kpi.catalog import KPI_KEYS
from app.kpi.counts import Counts, Definitions
from app.kpi.formulas import compute_kpis
from app.scorecard import document
from tests.scorecard.documents import document as typed

PAIRS: list[tuple[type[BaseModel], type]] = [
    (schemas.Kpis, document.KpiFigures),
    (schemas.TargetStatus, document.TargetEntry),
    (schemas.Forecast, document.ForecastEntry),
    (schemas.KpiDeltas, document.Comparison),
    (schemas.Comparisons, document.Comparisons),
    (schemas.MemberCompleteness, document.MemberCompleteness),
    (schemas.Completeness, document.Completeness),
    (schemas.ScopeScorecard, document.ScopeEntry),
    (schemas.Definitions, Definitions),
    (schemas.Scorecard, document.ScorecardDocument),
    (breakdown_schemas.MonthFigures, document.SeriesMonth),
    (breakdown_schemas.ScopeSeries, document.SeriesDocument),
]
GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(("model", "dataclass"), PAIRS, ids=[m.__name__ for m, _ in PAIRS])
def test_the_response_model_has_the_fields_of_the_document(model: type[BaseModel], dataclass: type) -> None:
    assert list(model.model_fields) == [f.name for f in dataclasses.fields(dataclass) if f.name != "more"] or (
        dataclass is document.KpiFigures and tuple(model.model_fields) == KPI_KEYS)


def test_the_kpi_figures_are_the_catalogue_in_its_order() -> None:
    declared = [f.name for f in dataclasses.fields(document.KpiFigures) if f.name != "more"]
    assert [key for key in KPI_KEYS if key in declared] == declared  # typed fields: catalogue KPIs, in its order
    figures = document.KpiFigures.of(compute_kpis(Counts(answered=8, abandoned=1, rejected=1)))
    assert tuple(figures.as_dict()) == KPI_KEYS and figures.more == {}


def test_a_catalogue_kpi_without_a_field_is_read_like_one() -> None:
    """What lets a KPI derived from existing counts be added in app/kpi alone (issue 13's done-when)."""
    base = document.KpiFigures.of(compute_kpis(Counts(answered=8, abandoned=1, rejected=1)))
    figures = dataclasses.replace(base, more={"short_abandon_rate": 0.25})
    assert figures.short_abandon_rate == 0.25 and figures.value("short_abandon_rate") == 0.25
    with pytest.raises(AttributeError):
        figures.no_such_kpi  # noqa: B018


def test_the_document_is_frozen_and_reads_by_attribute() -> None:
    shape = json.loads((GOLDEN / "rich-in-progress-2025-10.json").read_text())
    scorecard = typed(shape)
    scope = scorecard.scope("region", "SE-M")
    assert scope is not None and scorecard.scope("collaboration", "SE-M") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        scope.name = "x"  # type: ignore[misc]
    target = scope.target("answer_rate")
    assert target is not None and (target.status, target.needed) == ("at_risk", 0.882019)
    assert scope.target("wait_p90") is None
    assert scope.delta("answer_rate") == 0.001024 and scope.delta("answer_rate", "previous_year") is not None
    with pytest.raises(KeyError):
        scope.delta("answer_rate", "previous_week")
    assert scope.kpis.value("offered") == 1584
    with pytest.raises(KeyError):
        scope.kpis.value("not_a_kpi")


def test_the_json_of_a_document_read_back_is_the_same() -> None:
    """The API's JSON of a document made from that JSON is the JSON: nothing is lost or reordered on the way
    from the document to the bytes (the golden files hold the same for documents the service made)."""
    body = (GOLDEN / "rich-in-progress-2025-10.json").read_bytes()
    assert scorecard_json(typed(json.loads(body))) == body
    as_dict = typed(json.loads(body)).to_dict()
    ordered = json.dumps(as_dict, separators=(",", ":"), ensure_ascii=False)
    # the same keys in the same order with the same values (json writes 0.000071 as 7.1e-05, pydantic does not)
    assert json.loads(ordered, object_pairs_hook=list) == json.loads(body, object_pairs_hook=list)
