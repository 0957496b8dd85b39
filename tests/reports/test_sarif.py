from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import reports.sarif as sarif
from auditor.models import GLOBAL, Finding, Gap, ResourceRef, Status
from reports import renderers
from reports.sarif import SarifError, SarifRenderer, incomplete_scopes
from tests.conftest import scan
from tests.reports.conftest import ACCOUNT, LONG, complete_findings, finding, make_result

LINT = Path(__file__).resolve().parents[2] / ".." / "shared" / "tools" / "sarif_lint.py"
URI_OK = re.compile(r"^[A-Za-z0-9._~%-]+(/[A-Za-z0-9._~%-]+)*$")


def lint(tmp_path: Path, files: dict[str, str]) -> None:
    if not LINT.exists():
        pytest.skip(f"{LINT} is absent (../shared is not beside the clone)")
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / name))
    out = subprocess.run([sys.executable, str(LINT), *paths], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def doc(result) -> dict:
    return json.loads(SarifRenderer().render(result))


def results(result) -> list[dict]:
    return [r for run in doc(result)["runs"] for r in run["results"]]


def fingerprints(result) -> list[str]:
    return sorted(r["partialFingerprints"]["primaryLocationLineHash"] for r in results(result))


def test_registered_as_a_format():
    assert renderers()["sarif"] is SarifRenderer and SarifRenderer.suffix == ".sarif"


def test_fixture_output_passes_the_lint(tmp_path, complete_result, full_result):
    lint(tmp_path, SarifRenderer().render_files(complete_result, "complete"))
    lint(tmp_path, SarifRenderer().render_files(full_result, "partial"))


def test_one_run_per_scope_with_a_fixed_category(complete_result):
    runs = doc(complete_result)["runs"]
    assert [r["automationDetails"]["id"] for r in runs] == [
        f"awsaudit/{ACCOUNT}/global/", f"awsaudit/{ACCOUNT}/eu-west-1/", f"awsaudit/{ACCOUNT}/us-east-1/"]
    assert {r["tool"]["driver"]["name"] for r in runs} == {"awsaudit"}
    assert all("results" in r for r in runs)


def test_only_fail_and_waived_become_results(complete_result):
    got = results(complete_result)
    fails = [f for f in complete_result.findings if f.status is Status.FAIL]
    waived = [f for f in complete_result.findings if f.status is Status.WAIVED]
    assert len(got) == len(fails) + len(waived)
    suppressed = [r for r in got if "suppressions" in r]
    assert len(suppressed) == len(waived) == 1
    [s] = suppressed[0]["suppressions"]
    assert s["kind"] == "external" and "legacy key, replaced in Q3" in s["justification"]
    assert "alice@example.com" in s["justification"] and "2026-09-30" in s["justification"]


def test_locations_are_relative_pseudo_paths_and_keep_the_arn(complete_result):
    for r in results(complete_result):
        [loc] = r["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        arn = r["properties"]["resourceArn"]
        assert URI_OK.match(uri) and uri.startswith(f"awsaudit/{ACCOUNT}/") and len(uri) <= 512
        assert loc["physicalLocation"]["region"] == {"startLine": 1}
        assert loc["logicalLocations"] == [{"fullyQualifiedName": arn, "kind": "resource"}]
        assert arn in r["message"]["text"]
        assert re.fullmatch(r"[0-9a-f]{16}:1", r["partialFingerprints"]["primaryLocationLineHash"])


def test_long_unicode_and_dot_ids_stay_plain_paths():
    for rid in (LONG, "Zoë/管理者 key:1", "..", ""):
        ref = ResourceRef(arn=f"arn:aws:s3:::{rid}", id=rid, type="AWS::S3::Bucket", region="us-east-1")
        uri = sarif._uri(ACCOUNT, "us-east-1", ref)
        assert URI_OK.match(uri) and len(uri) <= 512 and "/../" not in uri + "/"
    assert sarif._uri(ACCOUNT, GLOBAL, ResourceRef(arn="arn:aws:iam::1:root", id="1", type="AWS::::Account")) \
        == f"awsaudit/{ACCOUNT}/global/account/account/1"


def test_rules_carry_severity_tags_and_help(complete_result):
    runs = doc(complete_result)["runs"]
    rules = {r["id"]: r for run in runs for r in run["tool"]["driver"]["rules"]}
    root = rules["iam.root-mfa"]
    assert root["properties"]["security-severity"] == "9.5" and root["defaultConfiguration"]["level"] == "error"
    assert rules["kms.cmk-rotation"]["properties"]["security-severity"] == "5.5"
    assert rules["s3.bucket-access-logging"]["defaultConfiguration"]["level"] == "note"
    tags = root["properties"]["tags"]
    assert tags[:3] == ["security", "aws", "iam"] and "cis-aws-v7/2.5" in tags and len(tags) <= 10
    assert "Root user has MFA enabled" in root["shortDescription"]["text"]
    assert "PASS when" in root["help"]["text"] and "Why it matters" in root["help"]["text"]
    for run in runs:  # every result's rule is in its own run
        ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
        assert {r["ruleId"] for r in run["results"]} <= ids


def test_incomplete_scope_is_left_out_and_named(full_result):
    categories = [r["automationDetails"]["id"] for r in doc(full_result)["runs"]]
    assert f"awsaudit/{ACCOUNT}/eu-west-1/" not in categories and len(categories) == 2
    assert incomplete_scopes(full_result) == [f"{ACCOUNT}/eu-west-1"]


def test_empty_complete_result_still_uploads_every_scope(tmp_path):
    files = SarifRenderer().render_files(make_result([]), "empty")
    runs = json.loads(files["empty.sarif"])["runs"]
    assert len(runs) == 3 and all(r["results"] == [] for r in runs)  # empty runs close fixed alerts
    lint(tmp_path, files)


def _with_error(check_id: str, region: str, resource_id: str | None = None):
    gap = Gap(dataset="x", service="kms", region=region, operation="ListKeys", iam_action="kms:ListKeys",
              error_code="AccessDenied", resource_id=resource_id)
    ref = ResourceRef(arn=f"arn:aws:iam::{ACCOUNT}:root", id=ACCOUNT, type="AWS::::Account", region=region)
    return make_result(complete_findings() + [finding(check_id, Status.ERROR, ref, "could not read", gap=gap)],
                       gaps=[gap])


def test_check_wide_global_error_withholds_every_scope_it_could_reach():
    # kms.cmk-rotation is regional: its regional findings were dropped, uploading would "fix" its alerts.
    result = _with_error("kms.cmk-rotation", GLOBAL)
    assert len(incomplete_scopes(result)) == 3
    assert SarifRenderer().render_files(result, "r") == {}
    # an IAM (global-only) check failing globally only withholds the global scope
    assert incomplete_scopes(_with_error("iam.user-console-mfa", GLOBAL)) == [f"{ACCOUNT}/global"]


def test_regional_error_of_an_account_level_check_withholds_global_too():
    result = _with_error("cloudtrail.multi-region-logging", "eu-west-1")
    assert incomplete_scopes(result) == [f"{ACCOUNT}/global", f"{ACCOUNT}/eu-west-1"]


def test_fingerprint_matches_the_design_note_example():
    # shared/sarif-github.md §5.5: v1␟aws␟123456789012␟us-east-1␟s3.bucket-public-read␟arn:aws:s3:::acme-logs␟
    ref = ResourceRef(arn="arn:aws:s3:::acme-logs", id="acme-logs", type="AWS::S3::Bucket", region="us-east-1")
    f = Finding(check_id="s3.bucket-public-read", status=Status.FAIL, region="us-east-1", resource=ref, message="x")
    assert sarif.fingerprint("aws", f, ACCOUNT)[:16] == "9f969d273281aaa1"


def test_fingerprint_is_stable_and_keyed_on_identity(complete_result):
    assert fingerprints(complete_result) == fingerprints(complete_result.model_copy(deep=True))
    moved = [f.model_copy(update={"resource": f.resource.model_copy(update={"arn": f.resource.arn + "-v2"})})
             if f.check_id == "iam.root-mfa" else f for f in complete_result.findings]
    changed = set(fingerprints(make_result(moved))) ^ set(fingerprints(complete_result))
    assert len(changed) == 2  # the old one gone, a new one in its place
    reworded = [f.model_copy(update={"message": "reworded", "evidence": {"n": 1}}) for f in complete_result.findings]
    assert fingerprints(make_result(reworded)) == fingerprints(complete_result)


def test_duplicate_fingerprints_are_a_hard_error(complete_result):
    dup = complete_result.findings[0]
    with pytest.raises(SarifError):
        SarifRenderer().render(make_result([*complete_result.findings, dup]))


def _many_regions(n: int):
    regions = [f"xx-test-{i}" for i in range(n)]
    fs = [finding("kms.cmk-rotation", Status.FAIL, ResourceRef(arn=f"arn:aws:kms:{r}:{ACCOUNT}:key/k", id="k",
                                                                   type="AWS::KMS::Key", region=r), "no rotation")
          for r in regions]
    return make_result(fs).model_copy(update={"regions": regions})


def test_more_than_twenty_scopes_split_into_files(tmp_path):
    files = SarifRenderer().render_files(_many_regions(25), "acct")
    assert sorted(files) == ["acct-1.sarif", "acct-2.sarif"]
    runs = [json.loads(t)["runs"] for t in files.values()]
    assert [len(r) for r in runs] == [20, 6]
    ids = [r["automationDetails"]["id"] for rs in runs for r in rs]
    assert len(ids) == len(set(ids)) == 26
    lint(tmp_path, files)


def test_gzip_limit_splits_files(monkeypatch):
    monkeypatch.setattr(sarif, "MAX_GZIP", 1)
    assert len(SarifRenderer().render_files(_many_regions(3), "acct")) == 4  # global + 3 regions, one run each


def test_too_many_results_split_into_stable_parts(monkeypatch):
    refs = [ResourceRef(arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k{i}", id=f"k{i}", type="AWS::KMS::Key",
                        region="us-east-1") for i in range(40)]
    result = make_result([finding("kms.cmk-rotation", Status.FAIL, ref, "no rotation") for ref in refs])
    monkeypatch.setattr(sarif, "MAX_RESULTS", 15)
    runs = [r for r in doc(result)["runs"] if "us-east-1" in r["automationDetails"]["id"]]
    assert len(runs) in (4, 8) and all(len(r["results"]) <= 15 for r in runs)
    assert sum(len(r["results"]) for r in runs) == 40
    assert all(r["automationDetails"]["id"].startswith(f"awsaudit/{ACCOUNT}/us-east-1/part-") for r in runs)
    again = [r for r in doc(result)["runs"] if "us-east-1" in r["automationDetails"]["id"]]
    assert runs == again


def _kms_account(rotate: dict[str, bool]) -> dict[str, str]:
    kms = boto3.client("kms", region_name="us-east-1")
    ids = {}
    for name, on in rotate.items():
        ids[name] = kms.create_key(Description=name)["KeyMetadata"]["KeyId"]
        if on:
            kms.enable_key_rotation(KeyId=ids[name])
    return ids


def test_real_scan_passes_the_lint_and_fingerprints_repeat(session, tmp_path):
    _kms_account({"good": True, "bad": False})
    first, second = scan(session, ["kms.*"]), scan(session, ["kms.*"])
    files = SarifRenderer().render_files(first, "scan")
    lint(tmp_path, files)
    [got] = results(first)
    assert got["ruleId"] == "kms.cmk-rotation" and got["level"] == "warning"
    assert fingerprints(first) == fingerprints(second)
    assert incomplete_scopes(first) == []


def test_real_scan_with_denied_reads_is_withheld(session):
    _kms_account({"bad": False})
    from tests.conftest import deny

    deny(session, "kms.GetKeyRotationStatus")
    result = scan(session, ["kms.cmk-rotation"])
    assert f"{ACCOUNT}/us-east-1" in incomplete_scopes(result)
    assert f"awsaudit/{ACCOUNT}/us-east-1/" not in [r["automationDetails"]["id"] for r in doc(result)["runs"]]
