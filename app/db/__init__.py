"""Storage: engine and session factory, typed models, queries."""
