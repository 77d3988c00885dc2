"""Service functions that read aggregates and call ``app.kpi``; used by the API, CLI, metrics and alerts."""
