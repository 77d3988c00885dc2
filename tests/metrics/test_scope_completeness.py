"""/metrics says when a month's data are partial and which member region of a collaboration has none
(issue 12, item 10), on both databases.

"Now" is Wednesday 15 October 2025, 12:00. Västerbotten, Norrbotten and Jämtland Härjedalen have a call at
00:30 on the 1st and at 11:00 today; Västernorrland (SE-Y) has nothing. September has one call of Västerbotten
at 10:00 on the 10th, so it starts and ends late in its month.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.kpi.localtime import STOCKHOLM
from app.metrics.collector import VptCollector
from tests.helpers import ingest_text

NOW = datetime(2025, 10, 15, 12, 0, tzinfo=STOCKHOLM).astimezone(UTC)
CALLS = "call_id,region,queue,arrived_at,outcome\n" + "\n".join(
    [f"{region}-{n},{region},q,{arrived},rejected"
     for region in ("SE-AC", "SE-BD", "SE-Z")
     for n, arrived in enumerate(("2025-10-01T00:30:00+02:00", "2025-10-15T11:00:00+02:00"))]
    + ["sep,SE-AC,q,2025-09-10T10:00:00+02:00,rejected"]
) + "\n"


def scrape(factory: sessionmaker[Session], settings: Settings) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VptCollector(factory, settings, clock=lambda: NOW))
    samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_partial_scopes_and_members_without_data(session_factory: sessionmaker[Session], settings: Settings) -> None:
    ingest_text(session_factory, settings, "calls", CALLS)
    s = scrape(session_factory, settings)

    def value(metric: str, **labels: str) -> float:
        return s[(metric, tuple(sorted(labels.items())))]

    norra = {"scope": "norra", "scope_kind": "collaboration"}
    assert value("vpt_scope_partial", **norra, window="month_to_date") == 1  # SE-Y: no data
    for region in ("SE-AC", "SE-BD", "SE-Z"):
        assert value("vpt_scope_partial", scope=region, scope_kind="region", window="month_to_date") == 0
        assert value("vpt_scope_member_without_data", **norra, window="month_to_date", region=region) == 0
    assert value("vpt_scope_member_without_data", **norra, window="month_to_date", region="SE-Y") == 1
    assert value("vpt_scope_partial", scope="SE-AC", scope_kind="region", window="previous_month") == 1
    assert value("vpt_scope_member_without_data", **norra, window="previous_month", region="SE-BD") == 1
    assert not [key for key in s if key[0] == "vpt_scope_member_without_data"
                and dict(key[1])["scope_kind"] == "region"]  # members are a collaboration's only
