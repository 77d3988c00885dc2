"""A change is committed before its response is sent: a client told 200 may rely on it at once (a key it revoked
no longer works on its next request). FastAPI ends a yield dependency after the response by default; the session
dependency ends it before (app.api.deps)."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.api.app import create_app
from app.config import Settings
from app.db.auth_models import ApiKey
from app.db.session import make_engine, make_session_factory
from tests.auth import make_key
from tests.servers import running_server


def test_a_revocation_is_committed_when_its_200_arrives(settings: Settings) -> None:
    admin = make_key(settings, "admin", name="admin")
    victim = make_key(settings, "read", name="victim")
    app = create_app(settings)
    slow_commits: list[float] = []

    def slow_commit(session: Session) -> None:  # a busy database: the commit takes a moment
        slow_commits.append(time.monotonic())
        time.sleep(0.5)

    event.listen(Session, "before_commit", slow_commit)
    try:
        with running_server(app) as url, httpx.Client(base_url=url, timeout=10) as client:
            public_id = victim.split("_")[1]
            answer = client.delete(f"/api/v1/keys/{public_id}", headers={"Authorization": f"Bearer {admin}"})
            assert answer.status_code == 200
            engine = make_engine(settings)
            try:
                with make_session_factory(engine)() as session:
                    revoked_at = session.scalar(select(ApiKey.revoked_at).where(ApiKey.public_id == public_id))
            finally:
                engine.dispose()
            after = client.get("/api/v1/regions", headers={"Authorization": f"Bearer {victim}"})
    finally:
        event.remove(Session, "before_commit", slow_commit)
    assert slow_commits, "the commit was not slowed: the test proves nothing"
    assert revoked_at is not None
    assert after.status_code == 401
