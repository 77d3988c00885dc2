"""Access control (issue 7): API keys with scopes and the audit log of admin actions.

Used by the API (authentication, key and audit endpoints) and the CLI (``vpt keys``, ``vpt audit``, and the
audit rows of ``vpt targets set`` and ``vpt silences``). Functions flush, never commit: the caller owns the
transaction, so an admin change and its audit row commit together or not at all.
"""
