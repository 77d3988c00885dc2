"""Decide what a pip-audit run over the lock file means: pass, fail, or skipped for want of a database.

``scripts/audit`` runs pip-audit once per vulnerability service (PyPI's JSON API, OSV) with ``-f json`` and
hands the outputs here. A service that could not be reached leaves no JSON (pip-audit ends with a
traceback); a service that answers but does not know the pinned versions lists every package with a
``skip_reason`` and says "No known vulnerabilities found" — which audits nothing. So:

* if at least one service audited at least one package, the check is real: any known vulnerability fails,
  and so does any package that no service could audit (``--strict`` in spirit: an unaudited dependency is not
  a clean one);
* if no service audited anything, nothing was checked: say so loudly (``SKIPPED: ...``) and pass only when
  ``VPT_AUDIT_OFFLINE_OK=true`` (a sandbox or a laptop offline), else fail.

Usage: ``python scripts/audit_decide.py SERVICE=PATH [SERVICE=PATH ...]``; a missing or unreadable PATH
means the service was not reachable (``PATH.err`` beside it, if any, says why). Exit 0 pass or skipped, 1 fail.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServiceResult:
    service: str
    reachable: bool
    problem: str = ""
    audited: dict[str, str] = field(default_factory=dict)  # name -> version
    skipped: dict[str, str] = field(default_factory=dict)  # name -> reason
    vulns: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # name, version, id, fixes


@dataclass
class Verdict:
    exit_code: int
    lines: list[str]


def read_result(service: str, path: Path) -> ServiceResult:
    """One service's pip-audit JSON, or why there is none."""
    try:
        data = json.loads(path.read_text())
        dependencies = data["dependencies"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        err = path.with_name(path.name + ".err")
        reason = _last_line(err.read_text(errors="replace")) if err.exists() else f"no report ({exc})"
        return ServiceResult(service, reachable=False, problem=reason or "no report")
    result = ServiceResult(service, reachable=True)
    for dep in dependencies:
        name = str(dep.get("name", "?"))
        if "skip_reason" in dep:
            result.skipped[name] = str(dep["skip_reason"])
            continue
        version = str(dep.get("version", "?"))
        result.audited[name] = version
        for vuln in dep.get("vulns", []) or []:
            result.vulns.append((name, version, str(vuln.get("id", "?")), list(vuln.get("fix_versions", []) or [])))
    return result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("WARNING:")]
    return lines[-1][:300] if lines else ""


def decide(results: list[ServiceResult], offline_ok: bool) -> Verdict:
    effective = [r for r in results if r.audited]
    if not effective:
        reasons = []
        for r in results:
            if not r.reachable:
                reasons.append(f"{r.service}: unreachable: {r.problem}")
            else:
                example = next(iter(r.skipped.values()), "")
                reasons.append(f"{r.service}: answered but knew none of the {len(r.skipped)} pinned packages"
                               + (f" (e.g. {example!r})" if example else ""))
        head = f"SKIPPED: no vulnerability database reachable ({'; '.join(reasons) or 'no service tried'})"
        if offline_ok:
            return Verdict(0, [head, "nothing was audited; allowed because VPT_AUDIT_OFFLINE_OK=true"])
        return Verdict(1, [head, "FAILED: nothing was audited (set VPT_AUDIT_OFFLINE_OK=true to allow this offline)"])

    audited: dict[str, str] = {}
    for r in effective:
        audited.update(r.audited)
    names = set(audited)
    for r in results:
        names |= set(r.skipped)
    unaudited = sorted(names - set(audited))
    vulns = sorted({v[:3]: v for r in effective for v in r.vulns}.values())
    services = ", ".join(f"{r.service} ({len(r.audited)} audited)" for r in effective)
    lines = [f"audited {len(audited)} of {len(names)} pinned packages against {services}"]
    for name, version, vuln_id, fixes in vulns:
        lines.append(f"VULNERABLE: {name} {version}: {vuln_id}" + (f" (fixed in {', '.join(fixes)})" if fixes else
                                                                     " (no fixed version)"))
    for name in unaudited:
        reason = next((r.skipped[name] for r in results if name in r.skipped), "not in any report")
        lines.append(f"UNAUDITED: {name}: {reason}")
    if vulns or unaudited:
        lines.append(f"FAILED: {len(vulns)} known vulnerabilities, {len(unaudited)} packages not audited")
        return Verdict(1, lines)
    lines.append("OK: no known vulnerabilities")
    return Verdict(0, lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    results = []
    for arg in argv:
        service, _, path = arg.partition("=")
        results.append(read_result(service, Path(path)))
    offline_ok = os.environ.get("VPT_AUDIT_OFFLINE_OK", "").lower() in {"1", "true", "yes"}
    verdict = decide(results, offline_ok)
    for line in verdict.lines:
        print(line)
    return verdict.exit_code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
