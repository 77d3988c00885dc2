"""Pure domain core: canonical records, additive counts, KPI formulas, targets and local time.

Imports nothing of the app and does no I/O, so every figure can be checked without a database.
"""

from app.kpi.catalog import CATALOG, KPI_KEYS, KPIS, TARGETABLE_KPIS, KpiSpec
from app.kpi.counts import Counts, Definitions, counts_from_call, counts_from_interval, sum_counts
from app.kpi.formulas import Kpis, compute_kpis, data_quality_notes
from app.kpi.glossary import LANGS, Lang, Term
from app.kpi.histogram import BUCKET_COUNT, WAIT_BUCKET_EDGES, bucket_index, estimate_quantile
from app.kpi.records import CallRecord, IntervalRecord, Outcome
from app.kpi.targets import Comparator, Status, Target, closed_month_status, month_to_date_status

__all__ = [
    "BUCKET_COUNT",
    "CATALOG",
    "KPIS",
    "KPI_KEYS",
    "LANGS",
    "TARGETABLE_KPIS",
    "WAIT_BUCKET_EDGES",
    "CallRecord",
    "Comparator",
    "Counts",
    "Definitions",
    "IntervalRecord",
    "KpiSpec",
    "Kpis",
    "Lang",
    "Outcome",
    "Status",
    "Target",
    "Term",
    "bucket_index",
    "closed_month_status",
    "compute_kpis",
    "counts_from_call",
    "counts_from_interval",
    "data_quality_notes",
    "estimate_quantile",
    "month_to_date_status",
    "sum_counts",
]
