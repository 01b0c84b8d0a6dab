"""Audit the locked dependencies (constraints.txt) for known vulnerabilities; CI step of issue 8.

Runs pip-audit (PyPI's advisory data) over every pinned package and fails when a package has a
known vulnerability with a fixed release available. Vulnerabilities with no fix are listed;
silence one only by adding it to IGNORED below with a written reason.

Why there is a fallback: pip-audit asks PyPI's per-release endpoint
(https://pypi.org/pypi/NAME/VERSION/json); some networks (this build machine's included) only
let the per-project endpoint (https://pypi.org/pypi/NAME/json) through, and pip-audit then
reports "Dependency not found on PyPI" and exits 0 as if all were well. For such packages this
script reads the per-project endpoint, whose `vulnerabilities` are those of the latest release,
so a pin that *is* the latest release is still audited. Whatever remains unaudited is listed
loudly; with COM_AUDIT_STRICT=1 (recommended where PyPI is fully reachable) that fails too.

Usage: .venv/bin/python scripts/audit_deps.py [constraints.txt]
"""

# ruff: noqa: T201 - a CI script reports on stdout
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]

#: Vulnerability id -> why it is ignored. Only for vulnerabilities with NO fixed release,
#: each with a reason a reviewer can check; never to silence one that a version bump fixes.
IGNORED: dict[str, str] = {}

MIN_STARLETTE = Version("0.47.2")  # three denial-of-service CVEs fixed up to this release


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-").replace(".", "-")] = version.strip()
    return pins


def _run_pip_audit(path: Path) -> list[dict]:
    cmd = [
        str(REPO / ".venv" / "bin" / "pip-audit"),
        "--no-deps",  # constraints.txt pins every package exactly; nothing to resolve
        "--disable-pip",
        "--requirement", str(path),
        "--format", "json",
        "--progress-spinner", "off",
        "--timeout", "30",
    ]
    for vuln_id in IGNORED:
        cmd += ["--ignore-vuln", vuln_id]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    # pip-audit exits 1 when it found vulnerabilities; the JSON says which.
    try:
        return json.loads(done.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        sys.exit(
            "audit: pip-audit did not run (could it reach https://pypi.org?):\n"
            + done.stderr.strip()[-2000:]
        )


def _project_vulns(name: str, version: str) -> list[dict] | None:
    """Return the latest release's vulnerabilities if ``version`` is that release, else None."""
    try:
        response = requests.get(f"https://pypi.org/pypi/{name}/json", timeout=30)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError):
        return None
    if Version(data["info"]["version"]) != Version(version):
        return None
    return [
        {"id": v["id"], "fix_versions": v.get("fixed_in") or [], "aliases": v.get("aliases", [])}
        for v in data.get("vulnerabilities") or []
        if not v.get("withdrawn") and v["id"] not in IGNORED
        and not set(v.get("aliases") or ()) & set(IGNORED)
    ]


def main() -> int:
    """Run the audit and return the exit code (0 clean, 1 vulnerable or unaudited in strict)."""
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "constraints.txt"
    pins = _pins(path)
    strict = os.environ.get("COM_AUDIT_STRICT") == "1"

    starlette = pins.get("starlette")
    if starlette is None or Version(starlette) < MIN_STARLETTE:
        print(f"audit: FAIL starlette {starlette} is below {MIN_STARLETTE}")
        return 1

    results = _run_pip_audit(path)
    by_service, by_project, unaudited = 0, 0, []
    findings: list[tuple[str, str, dict]] = []
    skipped = [(d["name"], d.get("version") or pins.get(d["name"], "?"))
               for d in results if "skip_reason" in d]
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = pool.map(lambda nv: _project_vulns(*nv), skipped)
        fallback = dict(zip(skipped, found, strict=True))
    for dep in results:
        name, version = dep["name"], dep.get("version") or pins.get(dep["name"], "?")
        if "skip_reason" not in dep:
            by_service += 1
            findings += [(name, version, v) for v in dep.get("vulns", [])]
            continue
        vulns = fallback[(name, version)]
        if vulns is None:
            unaudited.append(f"{name}=={version}")
            continue
        by_project += 1
        findings += [(name, version, v) for v in vulns]

    fixable = [(n, ver, v) for n, ver, v in findings if v.get("fix_versions")]
    unfixed = [(n, ver, v) for n, ver, v in findings if not v.get("fix_versions")]
    print(
        f"audit: {len(pins)} pinned packages; {by_service} audited by pip-audit "
        f"(PyPI per-release advisories), {by_project} via PyPI's project endpoint "
        f"(pin = latest release), {len(unaudited)} not audited"
    )
    for name, version, vuln in fixable:
        fixes = ", ".join(vuln["fix_versions"])
        print(f"audit: FAIL {name}=={version} {vuln['id']} fixed in {fixes}")
    for name, version, vuln in unfixed:
        print(f"audit: warning {name}=={version} {vuln['id']} has no fixed release yet "
              "(add it to IGNORED in scripts/audit_deps.py with a reason once assessed)")
    if unaudited:
        print(
            "audit: WARNING these pins could NOT be audited (PyPI advisory data unreachable for "
            "them from this network): " + ", ".join(unaudited)
        )
    if fixable:
        return 1
    if unaudited and strict:
        print("audit: FAIL unaudited packages and COM_AUDIT_STRICT=1")
        return 1
    print("audit: no known vulnerability with a fix available" + ("" if not unaudited else
          " among the audited packages"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
