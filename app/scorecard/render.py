"""Plain renderings of the scorecard document for the terminal and for CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.kpi.formulas import KPI_KEYS

STATUS_STYLE = {"met": "green", "on_track": "green", "missed": "red", "unreachable": "red", "at_risk": "yellow",
                "no_data": "dim"}


STATUS_MARK = {"met": "✓", "on_track": "✓", "missed": "✗", "unreachable": "✗", "at_risk": "!", "no_data": "–"}


def format_seconds(value: float | None) -> str:
    if value is None:
        return "–"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}:{seconds:02d}"


def format_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def scorecard_csv(document: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["month", "scope", "kind", "name", *KPI_KEYS, "answer_rate_status", "mean_wait_status",
                     "hours_with_data", "hours_in_month", "latest_record_at"])
    for scope in document["scopes"]:
        status = {t["kpi"]: t["status"] for t in scope["targets"]}
        completeness = scope["completeness"]
        writer.writerow([
            document["month"], scope["scope"], scope["kind"], scope["name"],
            *["" if scope["kpis"][k] is None else scope["kpis"][k] for k in KPI_KEYS],
            status.get("answer_rate", ""), status.get("mean_wait", ""),
            completeness["hours_with_data"], completeness["hours_in_month"], completeness["latest_record_at"] or "",
        ])
    return buffer.getvalue()
