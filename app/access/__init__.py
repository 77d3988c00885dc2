"""Access control (issue 7): API keys with scopes and the audit log of admin actions.

Used by the API (authentication, key and audit endpoints) and the CLI (``vpt keys``, ``vpt audit``); the audit
log is written by the services that change targets, silences and sources too. Functions flush, never commit: the
caller owns the transaction, so an admin change and its audit row commit together or not at all.
"""
