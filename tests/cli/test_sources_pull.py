"""``vpt sources pull`` never makes a source again that was removed after it read its configuration: it pulls with
``create=False`` as the worker does (app/ingest/pull.py). Before, it pulled with the default ``create=True``, so
a source removed between the command reading the source rows and the pull starting came back, empty, and the
pull's failure (or records) were written to it.

The removal is made to happen in that window by removing the source, for real, when the command asks for the
source's lease (what a `vpt sources remove` in another shell could do at that moment). The platform's URL has no
server behind it: the fixed command fetches nothing, and the old one recreated the row before its first request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from app.config import Settings
from app.db.models import Source
from app.db.session import make_engine, make_session_factory, transaction
from app.ingest import pull
from app.ingest.source_admin import remove_source
from tests.servers import free_port


def test_a_source_removed_before_the_pull_starts_stays_removed(monkeypatch: pytest.MonkeyPatch, database_url: str,
                                                              tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VPT_DATABASE_URL", database_url)
    monkeypatch.delenv("VPT_LANG", raising=False)
    runner = CliRunner()
    added = runner.invoke(app, ["sources", "add", "platform", "--kind", "calls", "--url",
                                f"http://127.0.0.1:{free_port()}"])
    assert added.exit_code == 0, added.output
    engine = make_engine(Settings(database_url=database_url))
    factory = make_session_factory(engine)
    real_lease = pull.source_lease

    def removed_meanwhile(name: str, holder: str, seconds: int) -> pull.Lease:
        with transaction(factory) as session:
            remove_source(session, name, actor="test:another-shell")
        return real_lease(name, holder, seconds)

    monkeypatch.setattr(pull, "source_lease", removed_meanwhile)
    try:
        result = runner.invoke(app, ["sources", "pull", "platform"])
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == "fel: källan platform togs bort innan den hämtades: inget av den sparades"
        with factory() as session:
            assert session.scalars(select(Source.name).where(Source.name == "platform")).all() == []
    finally:
        engine.dispose()
