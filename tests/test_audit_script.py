"""scripts/audit: a supply-chain check that can fail. Canned pip-audit reports go through its decision
(scripts/audit_decide.py), and the shell script runs end to end with a stand-in pip-audit."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_decide", ROOT / "scripts" / "audit_decide.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_decide"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


decide_module = _load()

CLEAN = {"dependencies": [{"name": "fastapi", "version": "0.165.0", "vulns": []},
                          {"name": "httpx", "version": "0.28.1", "vulns": []}], "fixes": []}
VULNERABLE = {"dependencies": [
    {"name": "fastapi", "version": "0.165.0", "vulns": []},
    {"name": "httpx", "version": "0.28.1", "vulns": [
        {"id": "GHSA-xxxx-yyyy-zzzz", "fix_versions": ["0.28.2"], "aliases": ["CVE-2099-0001"], "description": "d"}]},
], "fixes": []}
NOTHING_AUDITED = {"dependencies": [
    {"name": "fastapi", "skip_reason": "Dependency not found on PyPI and could not be audited: fastapi (0.165.0)"},
    {"name": "httpx", "skip_reason": "Dependency not found on PyPI and could not be audited: httpx (0.28.1)"},
], "fixes": []}
PARTLY_AUDITED = {"dependencies": [
    {"name": "fastapi", "version": "0.165.0", "vulns": []},
    {"name": "httpx", "skip_reason": "Dependency not found on PyPI and could not be audited: httpx (0.28.1)"},
], "fixes": []}


def _write(directory: Path, name: str, report: dict[str, Any] | None, error: str = "") -> str:
    path = directory / f"{name}.json"
    if report is not None:
        path.write_text(json.dumps(report))
    if error:
        (directory / f"{name}.json.err").write_text(f"Traceback ...\n{error}\n")
    return f"{name}={path}"


def _run(tmp_path: Path, offline_ok: bool, *reports: tuple[str, dict[str, Any] | None, str]) -> tuple[int, str]:
    args = [_write(tmp_path, name, report, error) for name, report, error in reports]
    results = [decide_module.read_result(a.split("=", 1)[0], Path(a.split("=", 1)[1])) for a in args]
    verdict = decide_module.decide(results, offline_ok)
    return verdict.exit_code, "\n".join(verdict.lines)


UNREACHABLE = ("osv", None, "requests.exceptions.ConnectionError: Failed to resolve 'api.osv.dev'")


def test_a_clean_audit_passes(tmp_path: Path) -> None:
    code, text = _run(tmp_path, False, ("pypi", CLEAN, ""), UNREACHABLE)
    assert code == 0 and "OK: no known vulnerabilities" in text and "audited 2 of 2" in text


@pytest.mark.parametrize("offline_ok", [False, True])
def test_a_vulnerability_fails_even_offline_ok(tmp_path: Path, offline_ok: bool) -> None:
    code, text = _run(tmp_path, offline_ok, ("pypi", VULNERABLE, ""), UNREACHABLE)
    assert code == 1
    assert "VULNERABLE: httpx 0.28.1: GHSA-xxxx-yyyy-zzzz (fixed in 0.28.2)" in text


def test_a_package_no_service_could_audit_fails(tmp_path: Path) -> None:
    code, text = _run(tmp_path, True, ("pypi", PARTLY_AUDITED, ""), UNREACHABLE)
    assert code == 1 and "UNAUDITED: httpx" in text and "1 packages not audited" in text


def test_a_package_another_service_audited_is_covered(tmp_path: Path) -> None:
    code, text = _run(tmp_path, False, ("pypi", PARTLY_AUDITED, ""), ("osv", CLEAN, ""))
    assert code == 0, text


@pytest.mark.parametrize("offline_ok, expected", [(False, 1), (True, 0)])
def test_nothing_audited_is_a_loud_skip_that_passes_only_when_allowed(
    tmp_path: Path, offline_ok: bool, expected: int
) -> None:
    code, text = _run(tmp_path, offline_ok, ("pypi", NOTHING_AUDITED, ""), UNREACHABLE)
    assert code == expected
    assert text.startswith("SKIPPED: no vulnerability database reachable (")
    assert "knew none of the 2 pinned packages" in text and "Failed to resolve 'api.osv.dev'" in text
    assert "No known vulnerabilities" not in text  # pip-audit's own words for "audited nothing"


FAKE_TOOL = """#!{python}
import json, os, sys
args = sys.argv[1:]
service, out = args[args.index("-s") + 1], args[args.index("-o") + 1]
report = json.loads(os.environ["FAKE_AUDIT_REPORTS"]).get(service)
if report is None:
    sys.stderr.write("requests.exceptions.ConnectionError: no route to " + service + "\\n")
    sys.exit(1)
open(out, "w").write(json.dumps(report))
sys.exit(1 if any(d.get("vulns") for d in report["dependencies"]) else 0)
"""


@pytest.mark.parametrize("reports, offline_ok, code, expected", [
    ({"pypi": NOTHING_AUDITED}, "true", 0, "SKIPPED: no vulnerability database reachable"),
    ({"pypi": NOTHING_AUDITED}, "false", 1, "SKIPPED: no vulnerability database reachable"),
    ({"pypi": CLEAN}, "false", 0, "OK: no known vulnerabilities"),
    ({"pypi": NOTHING_AUDITED, "osv": VULNERABLE}, "true", 1, "VULNERABLE: httpx"),
])
def test_the_script_end_to_end_with_a_stand_in_pip_audit(
    tmp_path: Path, reports: dict[str, Any], offline_ok: str, code: int, expected: str
) -> None:
    tool = tmp_path / "pip-audit"
    tool.write_text(FAKE_TOOL.format(python=sys.executable))
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    env = os.environ | {"VPT_AUDIT_TOOL": str(tool), "FAKE_AUDIT_REPORTS": json.dumps(reports),
                        "VPT_AUDIT_OFFLINE_OK": offline_ok, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "audit")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == code, done.stdout + done.stderr
    assert expected in done.stdout
