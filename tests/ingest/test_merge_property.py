"""The merge finds stored records once, by key lookups (issue 15), instead of joining the staged rows with the whole
record table in each pass. It must count, store and re-aggregate exactly what the file-order rules of
app.ingest.staging.merge say, for any mix of new rows, repeats within a delivery, corrections and re-deliveries, on
both databases. The model below is those rules in plain Python; the aggregates are checked against a full recompute,
which reads only the stored records, so a missed touched hour shows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db.models import Call, HourlyAggregate
from app.db.session import transaction
from app.ingest.service import recompute
from tests.helpers import ingest_text
from tests.ingest.test_merge_reference import expected_merge

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
BASE = datetime(2025, 10, 26, 0, 0, tzinfo=UTC)  # the autumn switch: local hours repeat around it
_sources = itertools.count()

#: A call's content: (region, arrival minute offset, outcome); a correction changes any of them.
contents = st.tuples(st.sampled_from(["SE-AB", "SE-O"]), st.sampled_from([0, 5, 70, 130]),
                     st.sampled_from(["answered", "abandoned", "rejected"]))
rows = st.tuples(st.sampled_from(["a", "b", "c", "d"]), contents)
deliveries = st.lists(st.lists(rows, max_size=7), min_size=1, max_size=3)


def _line(call_id: str, content: tuple[str, int, str]) -> str:
    region, minute, outcome = content
    arrived = BASE + timedelta(minutes=minute)
    iso = arrived.isoformat()
    if outcome == "answered":
        return (f"{call_id},{region},vpt,{iso},answered,{(arrived + timedelta(seconds=40)).isoformat()},"
                f"{(arrived + timedelta(seconds=400)).isoformat()},{region},360,30\n")
    return f"{call_id},{region},vpt,{iso},{outcome},,{(arrived + timedelta(seconds=20)).isoformat()},,,\n"


def _aggregates(factory) -> list[tuple]:
    with factory() as session:
        return [tuple(r) for r in session.execute(
            select(HourlyAggregate.__table__).order_by("region", "hour_start")).all()]


@hypothesis_settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(deliveries)
def test_merge_stores_counts_and_aggregates_by_the_rules(session_factory, settings, plan) -> None:
    source = f"prop-{next(_sources)}"
    prefix = f"{source}-"
    model: dict[str, tuple] = {}
    for delivery in plan:
        text = HEADER + "".join(_line(prefix + key, content) for key, content in delivery)
        report = ingest_text(session_factory, settings, "calls", text, source=source)
        assert (report.rows_stored, report.rows_updated, report.rows_unchanged) == expected_merge(model, delivery)[0]
        with session_factory() as session:
            calls = session.execute(
                select(Call.call_id, Call.region, Call.arrived_at, Call.outcome).where(Call.call_id.like(f"{prefix}%"))
            ).all()
        assert {c.call_id[len(prefix):]: (c.region, int((c.arrived_at - BASE).total_seconds()) // 60, c.outcome)
                for c in calls} == model
        incremental = _aggregates(session_factory)
        with transaction(session_factory) as session:
            recompute(session, settings.definitions)
        assert _aggregates(session_factory) == incremental
