"""The HTML report in Debian's headless Chromium, from file://: it renders, filters, and planted scripts stay inert."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.models import Status
from reports.html import HtmlRenderer
from tests.reports.conftest import EBS_EU, GAP, complete_findings, finding, make_result, manual

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions"]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    error = finding("ec2.ebs-default-encryption", Status.ERROR, EBS_EU, "could not read", gap=GAP)
    result = make_result(complete_findings() + [error] + manual(), gaps=[GAP])
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(HtmlRenderer().render(result), encoding="utf-8")
    return path


def browse(url: str, workdir: Path, netlog: Path | None = None) -> str:
    args = [CHROMIUM, *FLAGS, f"--user-data-dir={workdir / 'profile'}"]
    if netlog:
        args.append(f"--log-net-log={netlog}")
    out = subprocess.run([*args, "--dump-dom", url], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def page_requests(netlog: Path) -> list[str]:
    """URLs a document asked for. Chromium's own background fetches carry no initiator ('not an origin')."""
    text = netlog.read_text(encoding="utf-8")
    try:
        log = json.loads(text)
    except ValueError:  # a log cut short at exit lacks its closing brackets
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and e.get("params", {}).get("initiator", "not an origin") != "not an origin"]


def rows(dom: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'(data-[a-z]+)="([^"]*)"', m)) for m in re.findall(r'<tr class="row [^>]*>', dom)]


def test_renders_offline_with_score_and_findings_and_planted_scripts_inert(page, tmp_path):
    netlog = tmp_path / "net.json"
    dom = browse(page.as_uri(), tmp_path, netlog)
    assert re.search(r'<html[^>]*data-rendered="13"', dom)  # the script ran and drew every assessed finding
    assert len(rows(dom)) == 13
    assert re.search(r'id="overall-score">45\.5<small>%', dom)
    assert "Showing 13 of 13 matching findings" in dom
    # planted <script> / onerror payloads would set the title or a body attribute, or add an element
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert not re.search(r"<body[^>]*data-pwned", dom) and "<img" not in dom
    assert "&lt;script&gt;document.title='PWNED'" in dom  # shown as text instead
    assert "Zoë-管理者-🔐-&lt;U+202E&gt;evil" in dom  # a bidi override cannot flip what the reader sees
    assert page_requests(netlog) == []


def test_request_detector_sees_a_leaking_page(tmp_path):
    leak = tmp_path / "leak.html"
    leak.write_text('<img src="http://example.invalid/pixel.png">', encoding="utf-8")
    netlog = tmp_path / "net.json"
    browse(leak.as_uri(), tmp_path, netlog)
    assert page_requests(netlog) == ["http://example.invalid/pixel.png"]


def test_filters_from_the_url(page, tmp_path):
    dom = browse(page.as_uri() + "#status=FAIL&service=iam", tmp_path)
    got = rows(dom)
    assert len(got) == 3 and {r["data-status"] for r in got} == {"FAIL"}
    assert "Showing 3 of 3 matching findings (13 in total)" in dom
    assert "Filtered by status: Fail, service: iam" in dom


def test_sort_and_framework_filter(page, tmp_path):
    dom = browse(page.as_uri() + "#framework=ssb&sort=severity&dir=desc", tmp_path)
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page.read_text(), re.S).group(1))
    expected = [r for r in data["findings"] if "ssb" in data["checks"][r["c"]]["fw"]]
    got = rows(dom)
    assert 0 < len(got) == len(expected) < len(data["findings"])
    rank = {"critical": 4, "high": 3, "medium": 2, "low": 1, "informational": 0}
    sev = [rank[r["data-severity"]] for r in got]
    assert sev == sorted(sev) and sev[0] < sev[-1]  # descending order of "severity" puts the least severe first
