"""The organization scorecard: heatmap worst first, drill-downs, self-contained and inert, and in headless Chromium."""
from __future__ import annotations

import base64
import hashlib
import re
from html import unescape
from pathlib import Path

import pytest

from auditor.merge import AccountEntry, OrgResult
from auditor.models import AuditResult, Finding, Identity, Status
from reports.org_html import OrgHtmlRenderer, findings_per_account, org_view
from tests.reports.conftest import (
    ACCOUNT,
    ATTR_XSS,
    FINISHED,
    GAP,
    STARTED,
    UNICODE,
    XSS,
    complete_findings,
    finding,
    make_result,
)
from tests.reports.conftest import EBS_EU as EBS
from tests.reports.test_html_browser import CHROMIUM, browse, page_requests

GOOD, BROKEN, GONE = "222222222222", "333333333333", "444444444444"


def as_account(result: AuditResult, acct: str) -> AuditResult:
    return result.model_copy(update={
        "identity": Identity(account_id=acct, arn=f"arn:aws:sts::{acct}:assumed-role/Audit/org"),
        "findings": [f.model_copy(update={"account_id": acct}) for f in result.findings]})


def passes() -> list[Finding]:
    return [f for f in complete_findings() if f.status is Status.PASS]


@pytest.fixture(scope="module")
def org() -> OrgResult:
    error = finding("ec2.ebs-default-encryption", Status.ERROR, EBS, "could not read", gap=GAP)
    worst = make_result(complete_findings() + [error], gaps=[GAP])
    return OrgResult(
        scan_id=f"run-{XSS}", organization_id="o-abc123", management_account_id=ACCOUNT,
        caller=Identity(account_id=ACCOUNT, arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Audit/org"), shard_count=2,
        shards=[1], selected=[ACCOUNT, GOOD, BROKEN, GONE], missing=[GONE], started_at=STARTED,
        finished_at=FINISHED, warnings=[f"planted {ATTR_XSS}"], accounts=[
            AccountEntry(account_id=ACCOUNT, name=UNICODE, ou_path="/Prod", result=worst),
            AccountEntry(account_id=GOOD, name=XSS, ou_path=f"/{ATTR_XSS}", result=as_account(
                make_result(passes()), GOOD)),
            AccountEntry(account_id=BROKEN, name="broken", error=f"cannot assume role: AccessDenied: {XSS}")])


def test_worst_accounts_first_and_heat_classes(org):
    v = org_view(org)
    assert [r["e"].account_id for r in v["rows"]] == [BROKEN, GONE, ACCOUNT, GOOD]
    good = v["rows"][-1]
    assert good["overall"]["score"] == 100.0 and good["overall"]["heat"] == "h10"
    worst = v["rows"][2]
    assert worst["overall"]["heat"] == "h4"  # 45.5 %
    assert worst["cells"]["1.11 Encryption & KMS"]["heat"] == "h6"  # 2 of 3 judged KMS findings pass
    assert "2. Manual" not in {a["label"] for a in v["areas"]}
    assert v["overall"]["pass"] == worst["overall"]["pass"] + good["overall"]["pass"]


def test_findings_listed_per_account_shrink_with_the_organization():
    assert findings_per_account(3) == 200 and findings_per_account(400) == 50 and findings_per_account(5000) == 20


def test_self_contained_escaped_and_script_pinned(org):
    html = OrgHtmlRenderer().render(org)
    assert html.count("<script") == 1 and "http://" not in html and "https://" not in html
    js = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1))
    assert f"script-src 'sha256-{digest}'" in csp and csp.startswith("default-src 'none'")
    assert XSS not in html and ATTR_XSS not in html and "<img" not in html
    assert "&lt;script&gt;document.title" in html and "Zoë-管理者-🔐-&lt;U+202E&gt;evil" in html
    links = set(re.findall(r'href="([^"]*)"', html))
    assert {x for x in links if not x.startswith("#")} == {f"accounts/{a}/report.html" for a in (ACCOUNT, GOOD)}
    for acct in (ACCOUNT, GOOD, BROKEN, GONE):
        assert f'id="acct-{acct}"' in html and f'href="#acct-{acct}"' in html
    assert "shard 2/2 was not merged" in html and "AccessDenied" in html


def test_renders_offline_in_chromium_and_opens_the_linked_account(org, tmp_path):
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed")
    page = tmp_path / "org-report.html"
    page.write_text(OrgHtmlRenderer().render(org), encoding="utf-8")
    netlog = tmp_path / "net.json"
    dom = browse(page.as_uri() + f"#acct-{GOOD}", tmp_path, netlog)
    assert re.search(r'<html[^>]*data-rendered="4"', dom)  # the script ran over every heatmap row
    assert "Showing 4 of 4 accounts" in dom
    assert re.search(rf'<details class="acct" id="acct-{GOOD}" open="">', dom)
    assert not re.search(rf'<details class="acct" id="acct-{ACCOUNT}" open', dom)
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert not re.search(r"<body[^>]*data-pwned", dom) and "<img" not in dom
    assert page_requests(netlog) == []


def test_screenshot_renders(org, tmp_path):
    """A real rendering with layout (not only the DOM): a non-trivial PNG comes out."""
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed")
    import subprocess

    from tests.reports.test_html_browser import FLAGS

    page = tmp_path / "org-report.html"
    page.write_text(OrgHtmlRenderer().render(org), encoding="utf-8")
    shot = tmp_path / "shot.png"
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
                          "--window-size=1300,1600", f"--screenshot={shot}", page.as_uri()],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and Path(shot).stat().st_size > 20_000
