"""The nurse-hours an at-risk month needs beyond its target's staffing, for the alert text (issue 17).

N = the nurse-hours Erlang A says the rest of the month needs for the answer rate (and mean wait) that saves the
month, minus the nurse-hours the targets themselves need over the same hours (``app.staffing``: ``month_rest``'s
``nurse_hours_recover`` − ``nurse_hours``). It is worked out only for scopes whose at-risk rule is breached (the
others never quote it), once per scope in an evaluation, and kept per local hour in the process's forecast-history
cache where there is one (a few minutes): the advice moves with the forecast, not with every ingest, and an
evaluation runs every minute. An alert already firing keeps the figure it fired with and costs nothing: its message
is written, and one announced after a silence quotes what was true when it fired. No figure (None) where there is
no advice: no forecast, no handling times, no stricter recovery goal (the month is unreachable, or the target's
staffing already saves it) or the advice failed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.alert_models import Alert
from app.errors import VptError
from app.kpi.localtime import STOCKHOLM, floor_hour
from app.scorecard.forecast_cache import ForecastHistoryCache
from app.staffing.service import staffing_advice

log = logging.getLogger(__name__)


def extra_nurse_hours(session: Session, kind: str, code: str, now: datetime) -> int | None:
    """What saving the month costs beyond the target's staffing, in nurse-hours; None without advice."""
    try:
        advice = staffing_advice(session, kind, code, now.astimezone(STOCKHOLM).date(), now)
    except VptError as error:  # an unknown scope, a date out of range: the alert is sent without the figure
        log.warning("alerts.staffing.unavailable", extra={"scope": code, "error": error.code})
        return None
    rest = advice.month_rest
    if not advice.recovering or rest.nurse_hours_recover is None:
        return None
    extra = rest.nurse_hours_recover - rest.nurse_hours
    return extra if extra > 0 else None


class ExtraNurseHours:
    """``extra_nurse_hours`` for one evaluation: each scope once, and from the cache for the rest of the hour."""

    def __init__(self, session: Session, now: datetime, history: ForecastHistoryCache | None) -> None:
        self.session, self.now, self.history = session, now, history
        self._seen: dict[tuple[str, str], int | None] = {}
        self._fired: dict[str, dict[tuple[str, str], Any]] = {}

    def for_alert(self, kind: str, code: str, kpi: str, period: str) -> int | None:
        """The figure for a breached at-risk alert: the one it fired with, or worked out (``__call__``)."""
        fired = self._fired.get(period)
        if fired is None:
            rows = self.session.execute(select(Alert.scope, Alert.kpi, Alert.details).where(
                Alert.rule == "target_at_risk", Alert.period == period, Alert.phase == "firing"))
            fired = self._fired[period] = {(scope, k): (details or {}).get("extra_nurse_hours")
                                           for scope, k, details in rows}
        if (code, kpi) in fired:
            value = fired[(code, kpi)]
            return value if isinstance(value, int) else None
        return self(kind, code)

    def __call__(self, kind: str, code: str) -> int | None:
        if (kind, code) not in self._seen:
            def compute() -> int | None:
                return extra_nurse_hours(self.session, kind, code, self.now)

            if self.history is None:
                self._seen[(kind, code)] = compute()
            else:
                key = ("alert_extra_nurse_hours", str(self.session.get_bind().engine.url), kind, code,
                       floor_hour(self.now))
                self._seen[(kind, code)] = self.history.get(key, compute)
        return self._seen[(kind, code)]
