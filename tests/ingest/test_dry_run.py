"""The dry run (issue 14 §5): what a delivery would give, hand-computed, with nothing stored; and its figures equal
what a real ingest of the same file gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import Result
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.db.models import IntervalRow
from app.ingest.builtin_formats import CALLS_CSV, INTERVALS_CSV
from app.ingest.dry_run import MAX_REASONS, OTHER_REASONS, DryRunReport, dry_run, dry_run_delivery
from app.ingest.loader import IngestError, Parser, TooManyRows
from app.ingest.profiles import load_profiles, profile_parser
from app.ingest.service import ingest_file
from app.kpi.formulas import compute_kpis
from app.kpi.localtime import local_month_bounds
from app.kpi.reference import REGIONS
from app.scorecard.queries import counts_by_region
from tests.ingest.db_dump import database_text

KNOWN = frozenset(code for code, _name, _people in REGIONS)
SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
SAMPLES = Path(__file__).resolve().parents[2] / "samples"

HEADER = "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
#: Line 2 onwards (the header is line 1). Waits: a1 120 s, a2 90 s (abandoned), a4 900 s (answered by SE-AC for
#: SE-BD), a7 30 s, a8 60 s abandoned on local 1 November (31 October in UTC), a3 first rejected, then at line 10
#: answered after 60 s: the merge of an ingest keeps the later one, so a3 counts once, answered.
CALLS = HEADER + (
    "a1,SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-01T08:02:00+02:00,,SE-AC,100,20\n"
    "a2,SE-AC,vpt,2025-10-01T08:10:00+02:00,abandoned,,2025-10-01T08:11:30+02:00,,,\n"
    "a3,SE-AC,vpt,2025-10-01T08:20:00+02:00,rejected,,,,,\n"
    "a4,SE-BD,vpt,2025-10-02T10:00:00+02:00,answered,2025-10-02T10:15:00+02:00,,SE-AC,200,\n"
    "a5,SE-XX,vpt,2025-10-02T11:00:00+02:00,rejected,,,,,\n"
    "a6,SE-QQ,vpt,2025-10-02T11:05:00+02:00,rejected,,,,,\n"
    "a7,SE-AC,vpt,2025-10-03T09:00:00+02:00,answered,2025-10-03T09:00:30+02:00,,,abc,\n"
    "a8,SE-AC,vpt,2025-11-01T00:30:00+01:00,abandoned,,2025-11-01T00:31:00+01:00,,,\n"
    "a3,SE-AC,vpt,2025-10-01T08:20:00+02:00,answered,2025-10-01T08:21:00+02:00,,,,\n"
)


def canonical(fmt: Parser | None = None) -> Parser:
    return fmt or CALLS_CSV.make_parser(SETTINGS)


def run(text: str, parser: Parser | None = None, **options: object) -> DryRunReport:
    return dry_run(KNOWN, SETTINGS.definitions, record_kind="calls", raw=io.BytesIO(text.encode()),
                   parser=canonical(parser), origin="calls.csv", reader="format calls-csv", **options)  # type: ignore[arg-type]


def by_month(report: DryRunReport) -> dict[tuple[str, str], dict[str, object]]:
    return {(m.region, m.month.strftime("%Y-%m")): m.to_dict() for m in report.months}


def test_the_report_of_a_call_file_by_hand() -> None:
    report = run(CALLS, sample_rows=3)

    assert (report.rows_read, report.records, report.rows_rejected, report.repeats) == (9, 7, 2, 1)
    assert (report.rows_warned, report.warnings) == (1, 1)  # a7's talk_seconds "abc": stored without it
    assert (report.rows_skipped, report.legs_merged) == (None, None)  # the canonical parser has no filters or chains
    assert report.would_store
    [rejected] = report.rejections  # both unknown regions, one reason whatever region it quotes
    assert (rejected.field, rejected.count, rejected.first_position) == ("region", 2, 6)
    assert rejected.reason.startswith("unknown region: '…'") and "'SE-XX'" in rejected.example
    [warned] = report.warning_reasons
    assert (warned.field, warned.count, warned.first_position) == ("talk_seconds", 1, 8)
    assert [row["line"] for row in report.sample] == [2, 3, 4]
    assert report.sample[0] == {
        "line": 2, "call_id": "a1", "region": "SE-AC", "queue": "vpt", "arrived_at": "2025-10-01T06:00:00Z",
        "outcome": "answered", "answered_at": "2025-10-01T06:02:00Z", "ended_at": None, "answered_by_region": "SE-AC",
        "talk_seconds": 100.0, "wrap_seconds": 20.0,
    }
    assert report.first_record_at is not None and report.first_record_at.isoformat() == "2025-10-01T06:00:00+00:00"
    assert report.last_record_at is not None and report.last_record_at.isoformat() == "2025-10-31T23:30:00+00:00"

    months = {(m.region, m.month): m.kpis for m in report.months}
    assert set(months) == {("SE-AC", date(2025, 10, 1)), ("SE-BD", date(2025, 10, 1)), ("SE-AC", date(2025, 11, 1))}
    ac = months["SE-AC", date(2025, 10, 1)]  # a1, a3 (answered, its last occurrence), a7 answered; a2 abandoned
    assert (ac.offered, ac.answered, ac.abandoned, ac.rejected) == (4, 3, 1, 0)
    assert ac.answer_rate == Fraction(3, 4) and ac.abandon_rate == Fraction(1, 4)
    assert ac.mean_wait == Fraction(120 + 60 + 30, 3)  # 70 s
    assert ac.mean_wait_all == Fraction(120 + 60 + 30 + 90, 4)
    assert ac.service_level == Fraction(3, 4) and ac.longest_wait == 120
    assert (ac.answered_by_other_regions, ac.answered_for_other_regions) == (0, 1)  # a4, for SE-BD
    bd = months["SE-BD", date(2025, 10, 1)]
    assert (bd.offered, bd.answered, bd.mean_wait, bd.service_level) == (1, 1, 900, 0)
    assert (bd.answered_by_other_regions, bd.answered_for_other_regions) == (1, 0)
    nov = months["SE-AC", date(2025, 11, 1)]  # a8: 31 October 23:30 UTC is 1 November in Stockholm
    assert (nov.offered, nov.abandoned, nov.answer_rate, nov.mean_wait) == (1, 1, 0, None)
    assert by_month(report)["SE-AC", "2025-10"]["kpis"]["answer_rate"] == 0.75  # type: ignore[index]


def test_a_repeat_counts_its_last_occurrence_whatever_came_first() -> None:
    """Without the repeat a3 is rejected (offered 4 of which answered 2); with it, answered (3 of 4)."""
    first_only = run(CALLS.rsplit("a3,", 1)[0])
    months = {(m.region, m.month): m.kpis for m in first_only.months}
    assert (months["SE-AC", date(2025, 10, 1)].answered, months["SE-AC", date(2025, 10, 1)].rejected) == (2, 1)
    assert first_only.repeats == 0


def test_reasons_fold_quoted_values_and_stop_at_the_limit() -> None:
    same = HEADER + "".join(f"r{n},SE-AC,vpt,2025-10-01T08:00:00+02:00,x{n},,,,,\n" for n in range(5))
    report = run(same)  # "unknown outcome: 'x0'", 'x1', …: one reason, the quoted value is not part of it
    assert [(r.field, r.count, r.first_position) for r in report.rejections] == [("outcome", 5, 2)]
    assert not report.would_store and report.months == []
    # MAX_REASONS + 5 distinct reasons: "wait of 86460 s is longer than 24 hours", 86520 s, …
    many = HEADER + "".join(f"w{n},SE-AC,vpt,2025-10-01T08:00:00+02:00,answered,2025-10-02T08:{n:02d}:00+02:00,,,,\n"
                            for n in range(1, MAX_REASONS + 6))
    report = run(many)
    assert len(report.rejections) == MAX_REASONS + 1
    other = next(r for r in report.rejections if r.reason == OTHER_REASONS)
    assert (other.field, other.count, other.first_position) == (None, 5, MAX_REASONS + 2)
    assert sum(r.count for r in report.rejections) == report.rows_rejected == MAX_REASONS + 5


def test_bounded_like_an_ingest() -> None:
    with pytest.raises(TooManyRows):
        run(CALLS, max_rows=8)
    assert run(CALLS, max_rows=9).rows_read == 9
    with pytest.raises(IngestError, match="UTF-16"):
        dry_run(KNOWN, SETTINGS.definitions, record_kind="calls", raw=io.BytesIO(CALLS.encode("utf-16")),
                parser=canonical(), origin="calls.csv", reader="format calls-csv")
    with pytest.raises(IngestError, match=r"^calls\.csv: "):
        run("no,header,we,know\n1,2,3,4\n")


def test_nothing_is_stored(session_factory: sessionmaker[Session], settings: Settings) -> None:
    before = database_text(session_factory)
    report = dry_run_delivery(session_factory, settings, record_kind="calls", raw=io.BytesIO(CALLS.encode()),
                              parser=canonical(), origin="calls.csv", reader="format calls-csv")
    assert report.records == 7
    assert database_text(session_factory) == before  # every row of every table, as it was


def ingest_and_compare(
    factory: sessionmaker[Session], settings: Settings, record_kind: str, path: Path, parser: Parser,
) -> DryRunReport:
    """Dry-run ``path``, ingest it for real, and compare every month's figures with the scorecard's reading."""
    with path.open("rb") as raw:
        report = dry_run_delivery(factory, settings, record_kind=record_kind, raw=raw,  # type: ignore[arg-type]
                                  parser=parser, origin=path.name, reader="test")
    ingest_file(factory, settings, record_kind, path, parser=parser)  # type: ignore[arg-type]
    assert report.months
    with factory() as session:
        for month in {m.month for m in report.months}:
            stored = counts_by_region(session, None, *local_month_bounds(month))
            mine = {m.region: m for m in report.months if m.month == month}
            assert set(mine) == set(stored), month
            for region, figures in mine.items():
                assert figures.kpis == compute_kpis(stored[region][0]), (region, month)
    return report


def test_figures_equal_a_real_ingest_of_a_canonical_call_file(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(CALLS)
    report = ingest_and_compare(session_factory, settings, "calls", path, canonical())
    assert len(report.months) == 3


@pytest.mark.parametrize(("kind", "name"), [("calls", "calls_october.csv"), ("intervals", "intervals_october.csv")])
def test_figures_equal_a_real_ingest_of_the_samples(
    session_factory: sessionmaker[Session], settings: Settings, kind: str, name: str
) -> None:
    fmt = CALLS_CSV if kind == "calls" else INTERVALS_CSV
    ingest_and_compare(session_factory, settings, kind, SAMPLES / name, fmt.make_parser(settings))


# --- profile files ---------------------------------------------------------------------------------------------

PROFILES = SAMPLES / "profiles"
#: The Amazon Connect built-in with the sample's queue names as regions (its own header says to write one).
CONNECT = """
[profile]
name = "connect-test"
title = "Amazon Connect, the sample's queues"
record = "calls"
extends = "amazon-connect"

[fields.region]
column = "Queue.Name"

[fields.region.map]
"1177-Vasterbotten" = "SE-AC"
"1177-Jamtland" = "SE-Z"
"1177-Norrbotten" = "SE-BD"
"1177-Norra" = "SE-BD"
"1177-Callback" = "SE-Z"
"""


@pytest.fixture
def with_profiles(settings: Settings, tmp_path: Path) -> Settings:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "connect-test.toml").write_text(CONNECT, encoding="utf-8")
    return settings.model_copy(update={"profiles_dir": str(folder)})


@pytest.mark.parametrize(("name", "kind", "sample"), [
    ("se-statistik-dag", "intervals", "se-statistik-dag.csv"),  # daily figures, a filter of national totals
    ("se-statistik-manad", "intervals", "se-statistik-manad.csv"),  # monthly figures
    ("connect-test", "calls", "amazon-connect.jsonl"),  # legs chained, copies deduplicated, chats filtered out
])
def test_figures_equal_a_real_ingest_of_a_profile_file(
    session_factory: sessionmaker[Session], with_profiles: Settings, name: str, kind: str, sample: str
) -> None:
    profile = load_profiles(with_profiles).get(name)
    report = ingest_and_compare(session_factory, with_profiles, kind, PROFILES / sample,
                                profile_parser(profile, with_profiles))
    assert report.rows_skipped and report.records
    if name == "connect-test":
        assert report.legs_merged and report.copies_dropped


def test_a_profile_s_counters_are_reported(with_profiles: Settings) -> None:
    """The Amazon Connect sample, by hand: 16 records; a chat, an outbound call and one without a queue skipped;
    one copy of 508 dropped for its newer copy; 701 → 702 → 703 one call (2 legs merged), 601 → 602 one (1)."""
    profile = load_profiles(with_profiles).get("connect-test")
    with (PROFILES / "amazon-connect.jsonl").open("rb") as raw:
        report = dry_run(KNOWN, SETTINGS.definitions, record_kind="calls", raw=raw,
                         parser=profile_parser(profile, with_profiles), origin="ctr.jsonl",
                         reader="profile connect-test", profile="connect-test")
    assert (report.rows_skipped, report.copies_dropped, report.legs_merged) == (3, 1, 3)
    assert report.rows_read == report.records + report.rows_rejected == 16 - 3 - 1 - 3


# --- the command line ---------------------------------------------------------------------------------------------

runner = CliRunner(env={"VPT_LANG": "en"})  # these tests read the English wording (tests/cli: both)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, with_profiles: Settings) -> Settings:
    monkeypatch.setenv("VPT_DATABASE_URL", with_profiles.database_url)
    monkeypatch.setenv("VPT_PROFILES_DIR", str(with_profiles.profiles_dir))
    wide = Console(width=400)
    for where in ("app.cli.dry_run.console", "app.cli.dry_run.errors", "app.cli.data.console", "app.cli.data.errors"):
        monkeypatch.setattr(where, wide)
    return with_profiles


def vpt(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_cli_dry_run_prints_the_report_and_stores_nothing(
    cli: Settings, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    before = database_text(session_factory)
    given = vpt("ingest", "intervals", str(PROFILES / "se-statistik-dag.csv"), "--profile", "se-statistik-dag",
                "--dry-run")
    assert given.exit_code == 0, given.output
    assert "read by profile se-statistik-dag (given)" in given.output and "3 rows skipped by filters" in given.output
    assert "SE-AC  │ 2025-10 │     799 │      715 │        84 │" in given.output.replace("┃", "│")
    # no profile: the canonical format cannot read it, so the dry run (and only it) asks detection
    guessed = vpt("ingest", "intervals", str(PROFILES / "se-statistik-dag.csv"), "--dry-run")
    assert guessed.exit_code == 0, guessed.output
    assert "read by profile se-statistik-dag (detected)" in guessed.output
    assert "the canonical format cannot read it" in guessed.output
    canonical_file = tmp_path / "calls.csv"
    canonical_file.write_text(CALLS)
    plain = vpt("ingest", "calls", str(canonical_file), "--dry-run")
    assert plain.exit_code == 0 and "read by format calls-csv" in plain.output
    assert "unknown region: '…'" in plain.output and "1 repeated key (" in plain.output
    assert database_text(session_factory) == before


def test_cli_dry_run_exit_codes(cli: Settings, tmp_path: Path) -> None:
    rejected = tmp_path / "bad.csv"
    rejected.write_text(HEADER + "b1,SE-XX,vpt,2025-10-01T08:00:00+02:00,rejected,,,,,\n")
    assert vpt("ingest", "calls", str(rejected), "--dry-run").exit_code == 3  # nothing would be stored
    wrong_kind = vpt("ingest", "calls", str(PROFILES / "se-statistik-dag.csv"), "--profile", "se-statistik-dag",
                     "--dry-run")
    assert wrong_kind.exit_code == 1 and "holds intervals, not calls" in wrong_kind.output
    unknown = vpt("ingest", "calls", str(rejected), "--profile", "nope", "--dry-run")
    assert unknown.exit_code == 1 and "connect-test" in unknown.output  # names the profiles of calls
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("what;is;this\n1;2;3\n")
    none = vpt("ingest", "intervals", str(garbage), "--dry-run")
    assert none.exit_code == 1 and "no import profile detected" in none.output


def test_cli_profile_auto_ingests_through_the_detected_profile(
    cli: Settings, session_factory: sessionmaker[Session]
) -> None:
    stored = vpt("ingest", "intervals", str(PROFILES / "se-statistik-dag.csv"), "--profile", "auto")
    assert stored.exit_code == 0, stored.output
    assert "profile se-statistik-dag, detected" in stored.output and "stored 9" in stored.output
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IntervalRow)) == 9
    # a real ingest without --profile never guesses: the canonical format refuses the file
    assert vpt("ingest", "intervals", str(PROFILES / "se-statistik-dag.csv")).exit_code == 1
