"""SPEC §5: a month's completeness names the sources it is built on and how far each has delivered, read from the
per-source counts every writer keeps (app.db.source_months), never from ``calls``. Exact through corrections that
move a call to another month, re-deliveries, supersedes, purges and recomputes; both databases.

October 2025 is 2025-09-30T22:00Z to 2025-10-31T23:00Z; November starts at local midnight, 23:00Z.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.db.models import Source, SourceMonthRecords
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest.conflicts import prefer_source
from app.ingest.service import recompute
from app.ingest.source_admin import remove_source
from app.scorecard.breakdowns import monthly_series
from app.scorecard.document import ScorecardDocument, SourceDelivery
from app.scorecard.month_sources import sources_by_month, sources_by_region
from app.scorecard.service import monthly_scorecard
from tests.auth import key_headers
from tests.helpers import LATER, ingest_text
from tests.plans import plan, statements_sent

SEPTEMBER, OCTOBER, NOVEMBER, DECEMBER = date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)
HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
INTERVALS = ("region,queue,interval_start,interval_minutes,offered,answered,abandoned,abandoned_short,rejected,"
             "answered_within_sl,sl_seconds,wait_answered_seconds_sum\n")
READS_RECORDS = re.compile(r"\b(FROM|JOIN)\s+(calls|interval_records)\b")


def calls(*rows: tuple[str, str, str]) -> str:
    """(call id, region, local arrival with its offset) -> answered calls, answered a minute later."""
    return HEADER + "".join(f"{key},{region},q,{arrived},answered,{arrived[:14]}{int(arrived[14:16]) + 1:02d}"
                            f"{arrived[16:]},\n" for key, region, arrived in rows)


def deliver(factory: sessionmaker[Session], settings: Settings, source: str, content: str,
            kind: str = "calls") -> None:
    ingest_text(factory, settings, kind, content, source=source)  # type: ignore[arg-type]


def counts(factory: sessionmaker[Session]) -> dict[tuple[str, str, date], tuple[int, int]]:
    """The whole table, by source name: (calls, interval records) per (source, region, month)."""
    c, s = SourceMonthRecords.__table__.c, Source.__table__.c
    with factory() as session:
        rows = session.execute(select(s.name, c.region, c.month, c.call_records, c.interval_records)
                               .join_from(SourceMonthRecords.__table__, Source.__table__, s.id == c.source_id)).all()
    return {(name, region, month): (n_calls, n_intervals) for name, region, month, n_calls, n_intervals in rows}


def card(factory: sessionmaker[Session], settings: Settings, month: date) -> ScorecardDocument:
    with factory() as session:
        return monthly_scorecard(session, month, settings.definitions, LATER)


def names_of(document: ScorecardDocument) -> dict[str, Any]:
    """Per scope its sources' names, and per collaboration member its own."""
    out: dict[str, Any] = {}
    for scope in document.scopes:
        out[scope.scope] = [s.name for s in scope.completeness.sources]
        for member in scope.completeness.members:
            out[f"{scope.scope}/{member.code}"] = [s.name for s in member.sources]
    return out


def same_after_recompute(factory: sessionmaker[Session], settings: Settings) -> None:
    """A recompute of a span inside October, then of all history, leaves the counts exactly as ingest kept them."""
    kept = counts(factory)
    for span in ((datetime(2025, 10, 10, tzinfo=UTC), datetime(2025, 10, 12, tzinfo=UTC)), (None, None)):
        with transaction(factory) as session:
            recompute(session, settings.definitions, *span)
        assert counts(factory) == kept, span


def two_call_sources(factory: sessionmaker[Session], settings: Settings) -> None:
    """alpha: SE-AC and SE-BD in October; beta: SE-AC in October; gamma: SE-Y in November."""
    deliver(factory, settings, "alpha", calls(("a1", "SE-AC", "2025-10-05T10:00:00+02:00"),
                                              ("a2", "SE-BD", "2025-10-20T12:00:00+02:00")))
    deliver(factory, settings, "beta", calls(("b1", "SE-AC", "2025-10-07T09:00:00+02:00")))
    deliver(factory, settings, "gamma", calls(("g1", "SE-Y", "2025-11-10T09:00:00+01:00")))


def test_each_scope_lists_the_sources_of_its_month_with_how_far_they_delivered(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    two_call_sources(session_factory, settings)
    october = card(session_factory, settings, OCTOBER)
    assert names_of(october) == {
        "SE-AC": ["alpha", "beta"], "SE-BD": ["alpha"],
        "norra": ["alpha", "beta"],  # the union of its members', alpha once
        "norra/SE-AC": ["alpha", "beta"], "norra/SE-BD": ["alpha"], "norra/SE-Y": [], "norra/SE-Z": [],
    }
    ac = october.scope("region", "SE-AC")
    assert ac is not None and ac.completeness.sources == (
        SourceDelivery("alpha", "file", "2025-10-20T10:00:00Z"),  # its newest record, of any region
        SourceDelivery("beta", "file", "2025-10-07T07:00:00Z"),
    )
    assert names_of(card(session_factory, settings, NOVEMBER)) == {
        "SE-Y": ["gamma"], "norra": ["gamma"],
        "norra/SE-AC": [], "norra/SE-BD": [], "norra/SE-Y": ["gamma"], "norra/SE-Z": [],
    }
    assert counts(session_factory) == {("alpha", "SE-AC", OCTOBER): (1, 0), ("alpha", "SE-BD", OCTOBER): (1, 0),
                                       ("beta", "SE-AC", OCTOBER): (1, 0), ("gamma", "SE-Y", NOVEMBER): (1, 0)}
    with TestClient(create_app(settings), headers=key_headers(settings, "read")) as client:
        body = client.get("/api/v1/scorecards/2025-10").json()
        series = client.get("/api/v1/regions/SE-AC/scorecards", params={"from": "2025-10", "to": "2025-11"}).json()
        spec = client.get("/openapi.json").json()
    scopes = {s["scope"]: s for s in body["scopes"]}
    assert scopes["norra"]["completeness"]["sources"] == [
        {"name": "alpha", "kind": "file", "delivered_until": "2025-10-20T10:00:00Z"},
        {"name": "beta", "kind": "file", "delivered_until": "2025-10-07T07:00:00Z"}]
    members = {m["code"]: m for m in scopes["norra"]["completeness"]["members"]}
    assert [s["name"] for s in members["SE-BD"]["sources"]] == ["alpha"] and members["SE-Y"]["sources"] == []
    assert [[s["name"] for s in m["completeness"]["sources"]] for m in series["months"]] == [["alpha", "beta"], []]
    described = spec["components"]["schemas"]["SourceDelivery"]["properties"]
    assert all(described[name].get("description") for name in ("name", "kind", "delivered_until"))
    assert "sources" in spec["components"]["schemas"]["Completeness"]["properties"]


def test_a_correction_moving_a_source_s_only_call_of_a_month_takes_it_off_that_month(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    deliver(session_factory, settings, "beta", calls(("b1", "SE-AC", "2025-10-07T09:00:00+02:00")))
    deliver(session_factory, settings, "alpha", calls(("a1", "SE-AC", "2025-10-31T23:30:00+01:00"),
                                                      ("a2", "SE-AC", "2025-11-03T10:00:00+01:00")))
    assert counts(session_factory)[("alpha", "SE-AC", OCTOBER)] == (1, 0)
    assert names_of(card(session_factory, settings, OCTOBER))["SE-AC"] == ["alpha", "beta"]
    # a1 corrected: it arrived an hour later, on 1 November local time
    deliver(session_factory, settings, "alpha", calls(("a1", "SE-AC", "2025-11-01T00:30:00+01:00")))
    assert counts(session_factory) == {("beta", "SE-AC", OCTOBER): (1, 0), ("alpha", "SE-AC", NOVEMBER): (2, 0)}
    assert names_of(card(session_factory, settings, OCTOBER))["SE-AC"] == ["beta"]
    assert names_of(card(session_factory, settings, NOVEMBER))["SE-AC"] == ["alpha"]
    # and back again, into a month where the source has no row left: the row comes back with the exact count
    deliver(session_factory, settings, "alpha", calls(("a1", "SE-AC", "2025-10-31T23:30:00+01:00")))
    assert counts(session_factory) == {("beta", "SE-AC", OCTOBER): (1, 0), ("alpha", "SE-AC", OCTOBER): (1, 0),
                                       ("alpha", "SE-AC", NOVEMBER): (1, 0)}
    same_after_recompute(session_factory, settings)


def test_a_repeated_delivery_changes_nothing(session_factory: sessionmaker[Session], settings: Settings) -> None:
    content = calls(("a1", "SE-AC", "2025-10-05T10:00:00+02:00"), ("a2", "SE-AC", "2025-11-05T10:00:00+01:00"))
    deliver(session_factory, settings, "alpha", content)
    before = counts(session_factory), card(session_factory, settings, OCTOBER).scopes
    deliver(session_factory, settings, "alpha", content)
    assert (counts(session_factory), card(session_factory, settings, OCTOBER).scopes) == before
    assert before[0] == {("alpha", "SE-AC", OCTOBER): (1, 0), ("alpha", "SE-AC", NOVEMBER): (1, 0)}


def test_a_purge_takes_the_source_off_every_list(session_factory: sessionmaker[Session], settings: Settings) -> None:
    two_call_sources(session_factory, settings)
    with transaction(session_factory) as session:
        remove_source(session, "alpha", purge=True)
    assert counts(session_factory) == {("beta", "SE-AC", OCTOBER): (1, 0), ("gamma", "SE-Y", NOVEMBER): (1, 0)}
    october = names_of(card(session_factory, settings, OCTOBER))
    assert october["SE-AC"] == october["norra"] == ["beta"] and "SE-BD" not in october
    same_after_recompute(session_factory, settings)


def test_superseded_records_count_nowhere_and_a_purge_of_the_winner_restores_them(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    def intervals(*starts: str) -> str:
        return INTERVALS + "".join(f"SE-Z,q1,{start},15,3,2,1,0,0,2,600,60\n" for start in starts)

    deliver(session_factory, settings, "loser", intervals("2025-10-10T10:00:00+02:00", "2025-10-10T10:15:00+02:00"),
            "intervals")
    deliver(session_factory, settings, "winner", intervals("2025-10-20T10:00:00+02:00"), "intervals")
    with transaction(session_factory) as session:
        prefer_source(session.connection(), "winner", True)
    assert counts(session_factory) == {("loser", "SE-Z", OCTOBER): (0, 2), ("winner", "SE-Z", OCTOBER): (0, 1)}
    # the preferred source's delivery supersedes both of the other's records: that source no longer counts
    deliver(session_factory, settings, "winner", intervals("2025-10-10T10:00:00+02:00"), "intervals")
    deliver(session_factory, settings, "winner", intervals("2025-10-10T10:15:00+02:00"), "intervals")
    assert counts(session_factory) == {("winner", "SE-Z", OCTOBER): (0, 3)}
    assert names_of(card(session_factory, settings, OCTOBER))["SE-Z"] == ["winner"]
    same_after_recompute(session_factory, settings)
    with transaction(session_factory) as session:
        remove_source(session, "winner", purge=True)
    assert counts(session_factory) == {("loser", "SE-Z", OCTOBER): (0, 2)}
    assert names_of(card(session_factory, settings, OCTOBER))["SE-Z"] == ["loser"]


def test_the_scorecard_reads_the_counts_in_one_statement_and_never_the_records(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    two_call_sources(session_factory, settings)
    deliver(session_factory, settings, "iv", INTERVALS + "SE-Z,q1,2025-10-10T10:00:00+02:00,15,3,2,1,0,0,2,600,60\n",
            "intervals")
    sent = statements_sent(session_factory,
                           lambda s: monthly_scorecard(s, OCTOBER, settings.definitions, LATER))
    assert not [sql for sql, _ in sent if READS_RECORDS.search(sql)], "the scorecard read raw records"
    [(statement, params)] = [(sql, params) for sql, params in sent if "source_month_records" in sql]
    assert "ix_source_month_records_month" in plan(session_factory, statement, params)


def test_a_delivery_of_calls_moves_the_counts_in_two_statements_without_reading_calls(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    two_call_sources(session_factory, settings)
    engine = make_engine(settings)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: statements.append(" ".join(statement.split())))
    try:
        deliver(make_session_factory(engine), settings, "alpha", calls(
            ("a8", "SE-AC", "2025-11-05T10:00:00+01:00"), ("a9", "SE-BD", "2025-10-21T12:00:00+02:00")))
    finally:
        engine.dispose()
    assert len([s for s in statements if "source_month_records" in s]) == 2, statements
    assert not [s for s in statements if re.search(r"\bFROM calls(\s|$)", s)]  # new calls: nothing is rebuilt
    assert counts(session_factory) == {
        ("alpha", "SE-AC", OCTOBER): (1, 0), ("alpha", "SE-AC", NOVEMBER): (1, 0), ("alpha", "SE-BD", OCTOBER): (2, 0),
        ("beta", "SE-AC", OCTOBER): (1, 0), ("gamma", "SE-Y", NOVEMBER): (1, 0)}


def test_a_span_of_months_reads_each_month_s_sources_as_the_single_month_does(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """September to November in one statement: per month exactly ``sources_by_region``'s answer (October with two
    regions and two sources, November with another, September with none); December's source stays outside."""
    two_call_sources(session_factory, settings)
    deliver(session_factory, settings, "delta", calls(("d1", "SE-Z", "2025-12-02T09:00:00+01:00")))
    with session_factory() as session:
        span = sources_by_month(session, SEPTEMBER, NOVEMBER)
        singles = {month: sources_by_region(session, month) for month in (SEPTEMBER, OCTOBER, NOVEMBER, DECEMBER)}
    assert {month: span.get(month, {}) for month in (SEPTEMBER, OCTOBER, NOVEMBER)} == \
        {month: singles[month] for month in (SEPTEMBER, OCTOBER, NOVEMBER)}
    assert set(span) == {OCTOBER, NOVEMBER}  # a month without records is absent, December is outside the span
    assert [s.name for s in span[OCTOBER]["SE-AC"]] == ["alpha", "beta"] and list(span[OCTOBER]) == ["SE-AC", "SE-BD"]
    assert singles[DECEMBER] == {"SE-Z": (SourceDelivery("delta", "file", "2025-12-02T08:00:00Z"),)}


def test_a_monthly_series_reads_the_sources_of_all_its_months_in_one_statement(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    two_call_sources(session_factory, settings)
    sent = statements_sent(session_factory,
                           lambda s: monthly_series(s, "collaboration", "norra", SEPTEMBER, DECEMBER, LATER))
    [(statement, params)] = [(sql, params) for sql, params in sent if "source_month_records" in sql]
    assert "ix_source_month_records_month" in plan(session_factory, statement, params)
    with session_factory() as session:
        series = monthly_series(session, "collaboration", "norra", SEPTEMBER, DECEMBER, LATER)
    assert [[s.name for s in m.completeness.sources] for m in series.months] == [[], ["alpha", "beta"], ["gamma"], []]
    assert [[s.name for s in m.sources] for m in series.months[1].completeness.members] == [
        ["alpha", "beta"], ["alpha"], [], []]  # SE-AC, SE-BD, SE-Y, SE-Z: each member its own
