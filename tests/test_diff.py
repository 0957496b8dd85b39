from __future__ import annotations

import json

import boto3
import pytest

from auditor.config import ConfigError
from auditor.diff import ReportDiff, diff_results, load_report, render_diff_text
from auditor.models import Gap, Status
from reports.json_report import JsonRenderer
from tests.conftest import scan
from tests.reports.conftest import ACCOUNT, EBS_US, XSS, complete_findings, finding, key, make_result


def test_one_fixed_one_new_and_the_rest_persist():
    old = make_result(complete_findings())
    fs = complete_findings()
    # fix the root MFA finding, break EBS default encryption in us-east-1
    fs = [f.model_copy(update={"status": Status.PASS}) if f.check_id == "iam.root-mfa" else f for f in fs]
    fs = [f.model_copy(update={"status": Status.FAIL}) if f.check_id == "ec2.ebs-default-encryption" else f
          for f in fs]
    d = diff_results(old, make_result(fs))
    assert [f.check_id for f in d.fixed] == ["iam.root-mfa"]
    assert [f.resource.arn for f in d.new_failures] == [EBS_US.arn]
    assert len(d.persisting) == sum(1 for f in old.findings if f.status is Status.FAIL) - 1
    assert d.new_gaps == []


def test_gone_only_counts_as_fixed_when_its_check_ran_cleanly():
    old = make_result(complete_findings())
    without_k1 = [f for f in complete_findings() if f.resource.id != "k-1"]
    assert [f.resource.id for f in diff_results(old, make_result(without_k1)).fixed] == ["k-1"]
    gap = Gap(dataset="kms.keys", service="kms", region="us-east-1", operation="ListKeys", iam_action="kms:ListKeys",
              error_code="AccessDenied")
    error = finding("kms.cmk-rotation", Status.ERROR, key("us-east-1", "x").model_copy(update={"arn": "a"}),
                    "could not read", gap=gap)
    d = diff_results(old, make_result([*without_k1, error], gaps=[gap]))
    assert d.fixed == [] and [f.check_id for f in d.new_gaps] == ["kms.cmk-rotation"]
    not_run = make_result(without_k1).model_copy(update={"checks": []})
    assert diff_results(old, not_run).fixed == []


def test_lapsed_waiver_is_a_new_failure_and_waived_is_neither():
    old = make_result(complete_findings())
    lapsed = [f.model_copy(update={"status": Status.FAIL, "waiver": None}) if f.status is Status.WAIVED else f
              for f in complete_findings()]
    assert [f.resource.id for f in diff_results(old, make_result(lapsed)).new_failures] == ["legacy-2"]
    waived = [f.model_copy(update={"status": Status.WAIVED}) if f.check_id == "iam.root-mfa" else f
              for f in complete_findings()]
    d = diff_results(old, make_result(waived))
    assert "iam.root-mfa" not in {f.check_id for f in d.fixed + d.new_failures + d.persisting}


def test_text_and_json_output():
    old = make_result(complete_findings())
    fs = [f.model_copy(update={"status": Status.PASS}) if f.check_id == "iam.root-mfa" else f
          for f in complete_findings()]
    d = diff_results(old, make_result(fs))
    text = render_diff_text(d)
    lines = text.splitlines()
    assert lines[0].startswith(f"account {ACCOUNT}: scan of 2026-03-02 03:04 UTC")
    assert lines[1] == f"0 new, 1 fixed, {len(d.persisting)} persisting failures; 0 new gaps"  # cron.sh reads it
    assert "Fixed (1):" in text and "CRITICAL iam.root-mfa  global" in text and "New failures" not in text
    assert all(line.isprintable() for line in lines)  # hostile names cannot move a terminal cursor
    assert XSS in text  # plain text output, nothing to escape
    back = ReportDiff.model_validate_json(d.model_dump_json())
    assert back == d and json.loads(d.model_dump_json())["fixed"][0]["check_id"] == "iam.root-mfa"


def test_load_report_round_trip_and_errors(tmp_path):
    result = make_result(complete_findings())
    path = tmp_path / "report.json"
    path.write_text(JsonRenderer().render(result), encoding="utf-8")
    assert load_report(path) == result
    for name, text, msg in [("missing.json", None, "cannot read report"),
                            ("bad.json", "{not json", "is not an auditor JSON report"),
                            ("other.json", '{"runs": []}', "is not an auditor JSON report: tool_version")]:
        p = tmp_path / name
        if text is not None:
            p.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_report(p)
        assert msg in str(err.value) and "\n" not in str(err.value)


def test_two_real_scans_with_one_fixed_and_one_new(session, tmp_path):
    kms = boto3.client("kms", region_name="us-east-1")
    fixed_key = kms.create_key(Description="fixed later")["KeyMetadata"]["KeyId"]
    broken_key = kms.create_key(Description="broken later")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=broken_key)
    before = tmp_path / "old.json"
    before.write_text(JsonRenderer().render(scan(session, ["kms.*"])), encoding="utf-8")
    kms.enable_key_rotation(KeyId=fixed_key)
    kms.disable_key_rotation(KeyId=broken_key)
    d = diff_results(load_report(before), scan(session, ["kms.*"]))
    assert [(f.check_id, f.resource.id) for f in d.fixed] == [("kms.cmk-rotation", fixed_key)]
    assert [(f.check_id, f.resource.id) for f in d.new_failures] == [("kms.cmk-rotation", broken_key)]
    assert d.persisting == [] and d.new_gaps == []
