"""Prowler side by side (`run.py --with-peers`): its own venv, only the checks the checklist maps to ours."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEER_CACHE = Path(os.environ.get("AUDITOR_BENCH_CACHE", Path.home() / ".cache" / "auditor-bench"))
VENV = PEER_CACHE / "prowler-venv"
PROWLER = VENV / "bin" / "prowler"


def ensure_prowler(timeout: float = 1800) -> str | None:
    """Install Prowler from PyPI into its own venv once; returns an error text when that is impossible here."""
    if PROWLER.exists():
        return None
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300, capture_output=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "prowler"], check=True, timeout=timeout,
                       capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return f"could not install Prowler: {exc} {detail.decode('utf-8', 'replace')[-300:]}".strip()
    return None if PROWLER.exists() else "pip finished but no prowler executable was installed"


def version() -> str:
    out = subprocess.run([str(PROWLER), "--version"], capture_output=True, text=True, timeout=300)
    return out.stdout.strip() or out.stderr.strip()[-200:]


def mapped_checks(our_ids: list[str]) -> list[str]:
    """Prowler ids from the checklist's Prowler column for our checks, limited to those this Prowler has."""
    raw = json.loads((ROOT / "auditor" / "data" / "checklist.json").read_text(encoding="utf-8"))
    wanted = sorted({p for item in raw["items"] if item["id"] in set(our_ids) for p in item.get("prowler", [])})
    out = subprocess.run([str(PROWLER), "aws", "--list-checks-json"], capture_output=True, text=True, timeout=600)
    start = out.stdout.find("{")
    available = set(json.loads(out.stdout[start:])["aws"]) if start >= 0 else set()
    return [c for c in wanted if c in available]


def run_prowler(timed_child: Callable[..., tuple[int, float, float, bool, str]], env: dict[str, str],
                our_ids: list[str], regions: list[str], out: Path, timeout: float) -> dict[str, Any]:
    problem = ensure_prowler()
    if problem:
        return {"error": problem}
    checks = mapped_checks(our_ids)
    if not checks:
        return {"error": "no mapped Prowler check exists in the installed Prowler"}
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(PROWLER), "aws", "--checks", *checks, "--region", *regions, "-M", "json-ocsf", "-o", str(out),
           "--no-banner", "--ignore-exit-code-3", "--log-level", "ERROR"]
    code, wall, rss, timed_out, tail = timed_child(cmd, env, timeout, out)
    statuses: Counter[str] = Counter()
    for f in out.glob("*.ocsf.json"):
        for finding in json.loads(f.read_text(encoding="utf-8") or "[]"):
            statuses[finding.get("status_code", "?")] += 1
    return {"version": version(), "checks": checks, "exit_code": code, "wall": wall, "rss_mb": rss,
            "timed_out": timed_out, "findings": dict(statuses), "stderr_tail": tail}
