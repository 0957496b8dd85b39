from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from html import unescape

import boto3
from markupsafe import Markup

from auditor.models import ResourceRef, Status
from reports import renderers
from reports.html import FORMULA, HtmlRenderer, _visible, script_json, table_data
from tests.conftest import scan
from tests.reports.conftest import ACCOUNT, ATTR_XSS, LONG, UNICODE, XSS, finding, make_result


def html_of(result) -> str:
    return HtmlRenderer().render(result)


def embedded(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1))


def test_registered_as_a_format():
    assert renderers()["html"] is HtmlRenderer and HtmlRenderer.suffix == ".html"


def test_hostile_strings_cannot_open_a_tag(full_result):
    html = html_of(full_result)
    assert html.count("<script") == 2 and html.count("</script") == 2  # the data block and our own script
    assert XSS not in html and ATTR_XSS not in html and "<img" not in html
    assert "&lt;script&gt;document.title" in html  # server-rendered text is escaped, not dropped


def test_bidi_controls_are_shown_as_code_points():
    assert _visible("key\u202eevil\u2066x") == "key<U+202E>evil<U+2066>x"
    assert _visible(Markup("\u202e")) == "\u202e" and _visible(3) == 3


def test_embedded_json_round_trips_hostile_strings(full_result):
    html = html_of(full_result)
    data = embedded(html)
    assert data == json.loads(json.dumps(table_data(full_result), default=str))
    ids = {r["id"] for r in data["findings"]}
    assert {XSS, ATTR_XSS, LONG, UNICODE} <= ids
    raw = script_json({"x": "</script><!-- & \u2028"})
    assert "<" not in raw and ">" not in raw and "&" not in raw and json.loads(raw) == {"x": "</script><!-- & \u2028"}


def test_self_contained_no_url_and_csp_pins_our_script(full_result):
    html = html_of(full_result)
    assert "http://" not in html and "https://" not in html
    markup = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    fetching = re.compile(r"""(?i)\s(src|href|action|srcset|poster|data)\s*=\s*(?:"(?!#)|'(?!#)|(?!["'#]))""")
    for tag in re.findall(r"<[a-zA-Z][^>]*>", markup):  # real tags only: account text is escaped to &lt;
        assert not fetching.search(tag), tag  # only in-page anchors
    assert "@import" not in html and "url(" not in html
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert "@media print" in html


def test_scores_counts_and_formula(full_result):
    html = html_of(full_result)
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    s = full_result.summary
    assert s.score == 45.5 and re.search(r'id="overall-score">45\.5<small>%', html)
    assert FORMULA in text
    for label in ("CIS AWS Foundations v7.0", "AWS Startup Security Baseline", "Source 000", "Source 004",
                  "1.2 Root user", "1.11 Encryption & KMS"):
        assert label in text
    for status, n in s.by_status.items():
        assert f'data-count="{status}">{n}<' in html
    assert "Incomplete scan." in text and "waiver 2 for s3.* on * expired on 2026-01-31" in text


def test_not_assessed_names_the_missing_permission(full_result, complete_result):
    html = html_of(full_result)
    section = html.split('id="not-assessed"')[1].split("</section>")[0]
    assert "ec2:GetEbsEncryptionByDefault" in section and "ec2.ebs-default-encryption" in section
    assert "AccessDenied" in section and 'id="missing-actions"' in section
    assert "Every selected check was assessed" in html_of(complete_result)


def test_waivers_justifications_attestations_and_scope(full_result):
    html = html_of(full_result)
    waivers = html.split('id="waivers"')[1].split("</section>")[0]
    assert "alice@example.com" in waivers and "2026-09-30" in waivers and "legacy key, replaced in Q3" in waivers
    assert "public web tier behind the ALB, ticket SEC-42" in waivers
    manual = html.split('id="attestations"')[1].split("</section>")[0]
    assert manual.count('<div class="sign">') == 3
    assert "Group accounts into OUs by function" in manual
    assert f"arn:aws:sts::{ACCOUNT}:assumed-role/Audit/ci" in html
    assert "2026-03-02 03:00 UTC" in html and "2026-03-02 03:04 UTC" in html and "eu-west-1, us-east-1" in html


def test_table_data_holds_assessed_findings_only(full_result):
    rows = table_data(full_result)["findings"]
    assert {r["s"] for r in rows} == {"FAIL", "WAIVED", "PASS", "NOT_APPLICABLE"}
    waived = next(r for r in rows if r["s"] == "WAIVED")
    assert waived["w"]["owner"] == "alice@example.com"
    check = table_data(full_result)["checks"]["iam.root-mfa"]
    assert check["fw"][:2] == ["cis_v7", "ssb"] and "CIS v7 2.5" in check["fwl"] and check["remediation"]


def test_empty_result_renders_without_a_score(tmp_path):
    html = html_of(make_result([]))
    assert 'id="overall-score">n/a<' in html and "No finding is waived." in html
    assert embedded(html)["findings"] == []


def test_waiver_expiring_soon_is_flagged(complete_result):
    near = [f.model_copy(update={"waiver": {**f.waiver, "expires": "2026-03-12"}}) if f.waiver else f
            for f in complete_result.findings]
    waivers = html_of(make_result(near)).split('id="waivers"')[1].split("</section>")[0]
    assert '<td class="mono soon">2026-03-12<span class="sub">in 10 days</span>' in waivers
    assert " soon" not in html_of(complete_result).split('id="waivers"')[1].split("</section>")[0]


def test_large_report_renders_fast():
    refs = [ResourceRef(arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k{i}", id=f"k{i}", type="AWS::KMS::Key",
                        region="us-east-1") for i in range(5000)]
    result = make_result([finding("kms.cmk-rotation", Status.FAIL if i % 3 else Status.PASS, ref, f"key {i}")
                          for i, ref in enumerate(refs)])
    start = time.perf_counter()
    html = html_of(result)
    assert time.perf_counter() - start < 3
    assert len(embedded(html)["findings"]) == 5000 and len(html) < 3_000_000


def test_real_scan_renders(session):
    kms = boto3.client("kms", region_name="us-east-1")
    kms.create_key(Description="no rotation")
    html = html_of(scan(session, ["kms.*"]))
    data = embedded(html)
    assert [r["s"] for r in data["findings"] if r["c"] == "kms.cmk-rotation"] == ["FAIL"]
    assert "Customer-managed" in data["checks"]["kms.cmk-rotation"]["title"]
