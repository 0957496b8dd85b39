"""`auditor demo`, as a newcomer runs it: every format, PASS/FAIL/ERROR present, SARIF GitHub would accept."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli import main

LINT = Path(__file__).resolve().parents[2] / "shared" / "tools" / "sarif_lint.py"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--output-dir", str(out), "--format", "json,sarif,html", "--quiet"]) == 0
    return out


def test_demo_report_shows_every_kind_of_verdict(demo_dir):
    report = json.loads((demo_dir / "report.json").read_text())
    statuses = {f["status"] for f in report["findings"]}
    assert {"PASS", "FAIL", "ERROR", "MANUAL"} <= statuses
    errors = [f for f in report["findings"] if f["status"] == "ERROR"]
    assert errors and all(f["gap"]["error_code"] == "AccessDenied" for f in errors)  # only the planted ones
    assert report["summary"]["checks_run"] >= 150


@pytest.mark.skipif(not LINT.exists(), reason="../shared/tools/sarif_lint.py not beside the repo")
def test_demo_sarif_passes_the_github_lint(demo_dir):
    sarif = json.loads((demo_dir / "report.sarif").read_text())
    ids = [r["automationDetails"]["id"] for r in sarif["runs"]]
    assert "awsaudit/123456789012/global/" in ids  # complete scopes are uploaded...
    assert "awsaudit/123456789012/us-east-1/" not in ids  # ...the one with a planted read failure is not
    lint = subprocess.run([sys.executable, str(LINT), str(demo_dir / "report.sarif")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_demo_html_is_self_contained(demo_dir):
    html = (demo_dir / "report.html").read_text()
    assert "Account 123456789012" in html and "http://" not in html and "https://" not in html.split("</head>")[0]
