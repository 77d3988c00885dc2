"""Staffing advice (SPEC §7, issue 17): Erlang A parameters estimated from the stored hours, advice per local hour."""
