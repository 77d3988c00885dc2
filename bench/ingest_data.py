"""The ingest benchmark's input: N canonical call rows over local 2025 (bench/README.md, ``bench/ingest.py`` step 1).

A module of its own because three benchmarks write these calls: ``bench/ingest.py``, ``bench/timestamps.py`` (the
same rows with naive times) and ``bench/profiles.py`` (the same calls as a Swedish export). They import the
generator, not the ingest benchmark's entry point.
"""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.kpi.localtime import STOCKHOLM
from app.kpi.reference import REGIONS

HEADER = (
    "call_id,region,queue,arrived_at,outcome,answered_at,ended_at,answered_by_region,talk_seconds,wrap_seconds\n"
)
SEED = 1177
YEAR = 2025


class LocalClock:
    """ISO 8601 text with the Europe/Stockholm offset (+01:00 or +02:00) of a UTC epoch second.

    The offset is looked up in the year's DST transitions (bisect) rather than through zoneinfo per
    value: three timestamps per row, a million rows.
    """

    def __init__(self, start: datetime, end: datetime) -> None:
        self.changes: list[int] = []  # epoch seconds where the offset changes
        self.offsets: list[int] = []  # the offset in force from changes[i]
        moment = start - timedelta(days=1)
        while moment <= end + timedelta(days=2):  # offsets change on whole UTC hours
            offset = int(moment.astimezone(STOCKHOLM).utcoffset().total_seconds())  # type: ignore[union-attr]
            if not self.offsets or offset != self.offsets[-1]:
                self.changes.append(int(moment.timestamp()))
                self.offsets.append(offset)
            moment += timedelta(hours=1)

    def iso(self, epoch: int) -> str:
        offset = self.offsets[bisect.bisect_right(self.changes, epoch) - 1]
        local = datetime.fromtimestamp(epoch + offset, UTC)
        sign = "+" if offset >= 0 else "-"
        return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"


def generate_calls(path: Path, rows: int, seed: int = SEED) -> dict[str, int]:
    """N call rows over one local year, in arrival order; returns the outcome mix written.

    ~85 % answered (wait 0–3600 s, about 10 % answered by another region), ~12 % abandoned (hang-up
    after 0–3600 s), ~3 % rejected. Regions weighted by inhabitants; two queues.
    """
    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=STOCKHOLM).astimezone(UTC)
    end = datetime(YEAR + 1, 1, 1, tzinfo=STOCKHOLM).astimezone(UTC)
    clock = LocalClock(start, end)
    first, span = int(start.timestamp()), int((end - start).total_seconds()) - 3 * 3600
    # sorted arrivals without holding N datetimes: uniform order statistics via exponential gaps
    gaps = span / max(rows, 1)
    codes = [code for code, _name, _inhabitants in REGIONS]
    weights = [inhabitants for _code, _name, inhabitants in REGIONS]
    mix = {"answered": 0, "abandoned": 0, "rejected": 0}
    offset = 0.0
    lines: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for i in range(rows):
            offset = min(offset + rng.expovariate(1.0 / gaps), span)
            arrived = first + int(offset)
            region = rng.choices(codes, weights)[0]
            queue = "vpt" if rng.random() < 0.9 else "vpt-barn"
            call_id = f"{region[3:].lower()}-{i:08d}-{rng.getrandbits(24):06x}"
            wait = min(3600, int(rng.expovariate(1.0 / 420)))
            draw = rng.random()
            arrived_text = clock.iso(arrived)
            if draw < 0.85:
                talk = rng.randint(60, 1200)
                wrap = rng.randint(0, 300)
                by = region if rng.random() < 0.9 else rng.choice(codes)
                lines.append(
                    f"{call_id},{region},{queue},{arrived_text},answered,{clock.iso(arrived + wait)},"
                    f"{clock.iso(arrived + wait + talk)},{by},{talk},{wrap}\n"
                )
                mix["answered"] += 1
            elif draw < 0.97:
                lines.append(f"{call_id},{region},{queue},{arrived_text},abandoned,,{clock.iso(arrived + wait)},,,\n")
                mix["abandoned"] += 1
            else:
                lines.append(f"{call_id},{region},{queue},{arrived_text},rejected,,{arrived_text},,,\n")
                mix["rejected"] += 1
            if len(lines) >= 10_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    return mix
