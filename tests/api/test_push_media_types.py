"""The push endpoints document the media types a push is accepted as: those of every registered format (the
format registry, plugins' too, as loaded when the document is made), not only the built-ins'."""

from __future__ import annotations

import io
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from app.api.app import create_app
from app.config import Settings
from app.ingest.formats import GROUP, IngestFormat, builtin_formats, load_formats
from app.ingest.parsers import parse_calls


def _pipes(settings: Settings) -> Any:
    def parse(stream: io.TextIOBase, options: Any) -> Any:
        return parse_calls(io.StringIO(stream.read().replace("|", ",")), "csv", options)
    return parse


#: A third party's format, registered through an entry point as a plugin is.
PIPES = IngestFormat(name="pipes", record_kind="calls", make_parser=_pipes, media_types=("text/x-psv",),
                     example="call_id|region|arrived_at|outcome\n")


def _spec() -> dict[str, Any]:
    """The document /openapi.json serves, made by an app that is never started: it needs no database."""
    return create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]


def _documented(spec: dict[str, Any], kind: str) -> dict[str, Any]:
    content: dict[str, Any] = spec["paths"][f"/api/v1/ingest/{kind}"]["post"]["requestBody"]["content"]
    return content


def test_a_plugin_format_s_media_type_is_documented_for_its_record_kind_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = load_formats(installed=[EntryPoint("pipes", f"{__name__}:PIPES", GROUP)])
    assert not registry.problems
    monkeypatch.setattr("app.api.routers.ingest.default_formats", lambda: registry)
    spec = _spec()
    calls, intervals = _documented(spec, "calls"), _documented(spec, "intervals")
    assert list(calls) == [*registry.media_types("calls")]  # the built-ins' first, then the plugin's
    assert calls["text/x-psv"]["example"] == PIPES.example
    assert "format pipes" in calls["text/x-psv"]["schema"]["description"]
    assert "text/x-psv" not in intervals and list(intervals) == [*registry.media_types("intervals")]
    assert "?profile=NAME" in spec["paths"]["/api/v1/ingest/calls"]["post"]["requestBody"]["description"]


def test_without_plugins_the_document_lists_the_built_ins_as_before() -> None:
    spec = _spec()
    for kind in ("calls", "intervals"):
        content = _documented(spec, kind)
        assert list(content) == [*builtin_formats().media_types(kind)]
        assert all(body["schema"]["minLength"] == 1 for body in content.values())
        assert content["text/csv"]["example"].startswith(("call_id,", "region,"))
