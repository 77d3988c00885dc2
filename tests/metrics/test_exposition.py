"""``app.metrics.exposition.render`` writes exactly the bytes of ``prometheus_client.generate_latest``.

Generated registries carry label values with quotes, backslashes, newlines and non-ASCII, label and metric names
outside the legacy character set, every family type (OpenMetrics-only ``_created`` / ``_gsum`` / ``_gcount``
samples included), timestamps and awkward numbers (-0.0, NaN, ±Inf, 1e22, 1234567.0); each registry is rendered
twice, so the second render reads the kept label texts. A real scrape of the collector is compared too, and the
endpoint's body and content type.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from sqlalchemy.orm import Session, sessionmaker

from app.api.app import create_app
from app.config import Settings
from app.kpi.localtime import STOCKHOLM
from app.metrics import exposition
from app.metrics.collector import VptCollector
from app.metrics.exposition import render
from tests.helpers import ingest_text

PROPS = settings(max_examples=200, deadline=None)
NOW = datetime(2025, 10, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)

AWKWARD = st.sampled_from(['"', "\\", "\n", '\\"', "\\n", "\r", "\t", "=", ",", "{", "}", " ", "å", "Ä", "ö", "€",
                           "🦆", "\u2028", "\x00", "#", "'", "é"])
LABEL_VALUES = st.one_of(st.text(max_size=12), st.lists(st.one_of(AWKWARD, st.text(max_size=3)), max_size=6).map(
    "".join), st.sampled_from(["SE-AC", "region", "month_to_date", ""]))
NAME_CHARS = st.sampled_from([*"abcxyz_:019", ".", "-", "å", "é", " ", '"', "\\"])
LABEL_NAMES = st.one_of(st.sampled_from(["scope", "scope_kind", "window", "le", "a", "_b", "région", "a.b", "1x",
                                         "__reserved"]),
                        st.lists(NAME_CHARS, min_size=1, max_size=8).map("".join))
METRIC_NAMES = st.one_of(st.sampled_from(["vpt_x", "a:b", "up", "vpt.dotted", "naïve", "9lives", "with space"]),
                         st.lists(NAME_CHARS, min_size=1, max_size=10).map("".join))
VALUES = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0, 1, -0.0, 0.0, 1e22, 1234567.0, 12345678.9, 1e-7, 0.1]))
TIMESTAMPS = st.one_of(st.none(), st.floats(0, 2e9), st.integers(0, 2 * 10**9))


class Fixed:
    """A collector of given families, so both renderers see the very same samples."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


@st.composite
def family(draw: st.DrawFn) -> Metric:
    name = draw(METRIC_NAMES)
    doc = draw(st.text(max_size=10) | st.lists(AWKWARD, max_size=4).map("".join))
    labels = draw(st.lists(LABEL_NAMES, max_size=3, unique=True))
    kind = draw(st.sampled_from(["gauge", "counter", "histogram", "info", "stateset", "summary", "gaugehistogram",
                                 "unknown", "raw"]))
    rows = draw(st.lists(st.tuples(st.lists(LABEL_VALUES, min_size=len(labels), max_size=len(labels)), VALUES,
                                   TIMESTAMPS), max_size=4))
    try:
        if kind == "gauge":
            made: Metric = GaugeMetricFamily(name, doc, labels=labels)
            for values, value, ts in rows:
                made.add_metric(values, value, ts)  # type: ignore[attr-defined]
        elif kind == "counter":
            made = CounterMetricFamily(name, doc, labels=labels)
            for values, value, ts in rows:
                made.add_metric(values, value, created=draw(st.none() | st.floats(0, 2e9)),  # type: ignore[attr-defined]
                                timestamp=ts)
        elif kind == "histogram":
            made = HistogramMetricFamily(name, doc, labels=labels)
            for values, value, ts in rows:
                made.add_metric(values, [("0.5", 1), ("+Inf", 2)], value, ts)  # type: ignore[attr-defined]
        elif kind == "gaugehistogram":
            made = GaugeHistogramMetricFamily(name, doc, labels=labels)
            for values, value, ts in rows:
                made.add_metric(values, [("1.0", 3), ("+Inf", 4)], value, ts)  # type: ignore[attr-defined]
        elif kind == "summary":
            made = SummaryMetricFamily(name, doc, labels=labels)
            for values, value, ts in rows:
                made.add_metric(values, 7, value, ts)  # type: ignore[attr-defined]
        elif kind == "info":
            made = InfoMetricFamily(name, doc, labels=labels)
            for values, _, ts in rows:
                made.add_metric(values, {"name": draw(LABEL_VALUES)}, ts)  # type: ignore[attr-defined]
        elif kind == "stateset":
            made = StateSetMetricFamily(name, doc, labels=labels)
            for values, _, ts in rows:
                made.add_metric(values, {draw(LABEL_VALUES): True, "other": False}, ts)  # type: ignore[attr-defined]
        elif kind == "unknown":
            made = UnknownMetricFamily(name, doc, labels=labels)
            for values, value, ts in rows:
                made.add_metric(values, value, ts)  # type: ignore[attr-defined]
        else:  # samples added by hand, OpenMetrics-only suffixes among them
            made = Metric(name, doc, draw(st.sampled_from(["gauge", "counter", "histogram", "untyped"])))
            for values, value, ts in rows:
                suffix = draw(st.sampled_from(["", "_created", "_gsum", "_gcount", "_sum", "_bucket"]))
                made.add_sample(name + suffix, dict(zip(labels, values, strict=True)), value, ts)
    except ValueError:
        from hypothesis import reject

        reject()  # a name prometheus_client itself refuses
    return made


@PROPS
@given(st.lists(family(), max_size=5))
def test_render_is_byte_identical_to_generate_latest(families: list[Metric]) -> None:
    registry = Fixed(families)
    want = generate_latest(registry)  # type: ignore[arg-type]
    assert render(registry) == want  # type: ignore[arg-type]
    assert render(registry) == want  # type: ignore[arg-type]  # the label texts kept by the first render


def test_the_kept_label_texts_are_bounded_and_still_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exposition, "LABEL_TEXTS_KEPT", 3)
    monkeypatch.setattr(exposition, "_label_texts", {})
    monkeypatch.setattr(exposition, "_label_pairs", {})
    gauge = GaugeMetricFamily("vpt_g", "g", labels=["scope"])
    for index in range(10):
        gauge.add_metric([f'r"{index}\\\n'], index)
    registry = Fixed([gauge])
    for _ in range(2):
        assert render(registry) == generate_latest(registry)  # type: ignore[arg-type]
        assert len(exposition._label_texts) <= 3 and len(exposition._label_pairs) <= 3


def test_a_real_scrape_renders_as_generate_latest(session_factory: sessionmaker[Session], settings: Settings) -> None:
    ingest_text(session_factory, settings, "calls", "call_id,region,queue,arrived_at,outcome,answered_at,ended_at\n"
                "t1,SE-AC,q,2025-10-15T08:00:00+02:00,answered,2025-10-15T08:02:00+02:00,\n"
                "p1,SE-AB,q,2025-09-10T10:00:00+02:00,abandoned,,2025-09-10T10:01:00+02:00\n")
    families = list(VptCollector(session_factory, settings, clock=lambda: NOW).collect())
    registry = Fixed(families)
    text = render(registry)  # type: ignore[arg-type]
    assert text == generate_latest(registry)  # type: ignore[arg-type]
    assert b'vpt_offered_calls{scope="SE-AC",scope_kind="region",window="today"} 1.0\n' in text


def test_the_endpoint_serves_the_same_bytes_and_content_type(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        registry = client.app.state.metrics_registry  # type: ignore[attr-defined]
        # a scrape's duration gauge differs from scrape to scrape: compare everything else
        expected = [line for line in generate_latest(registry).decode().splitlines() if "collect_duration" not in line]
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    assert [line for line in response.text.splitlines() if "collect_duration" not in line] == expected
