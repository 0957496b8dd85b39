"""The CLI in-process under moto: exit codes, one-line errors, offline re-evaluation, policy and listing."""
from __future__ import annotations

import json

import boto3
import pytest

from auditor.cli import main


def _run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors exit from inside parse_args
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def kms_fail(aws):
    boto3.client("kms", region_name="us-east-1").create_key()  # rotation off: a FAIL


def test_scan_writes_json_and_exits_1_on_failure(kms_fail, tmp_path, capsys):
    code, out, _ = _run(capsys, "scan", "--regions", "us-east-1", "--checks", "kms.*", "--output-dir",
                        str(tmp_path), "--quiet")
    assert code == 1 and out == ""
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["identity"]["account_id"] == "123456789012"
    assert report["schema_version"] and report["tool_version"]
    assert {f["status"] for f in report["findings"] if f["check_id"] == "kms.cmk-rotation"} == {"FAIL"}


def test_fail_on_threshold(kms_fail, tmp_path, capsys):
    code, _, _ = _run(capsys, "scan", "--regions", "us-east-1", "--checks", "kms.cmk-rotation", "--output-dir",
                      str(tmp_path), "--quiet", "--fail-on", "high")
    assert code == 0  # the only FAIL is medium


def test_gap_without_failure_exits_3(aws, tmp_path, capsys, monkeypatch):
    import auditor.session as session_mod
    from tests.conftest import deny

    real = session_mod.AuditSession.__init__

    def init(self, *a, **kw):
        real(self, *a, **kw)
        deny(self, "kms.ListKeys")
    monkeypatch.setattr(session_mod.AuditSession, "__init__", init)
    code, out, _ = _run(capsys, "scan", "--regions", "us-east-1", "--checks", "kms.*", "--output-dir", str(tmp_path))
    assert code == 3
    assert "kms:ListKeys" in out


def test_from_inventory_is_offline_and_identical(kms_fail, tmp_path, capsys):
    inv = tmp_path / "inv.json"
    _run(capsys, "scan", "--regions", "us-east-1", "--checks", "kms.*", "--output-dir", str(tmp_path / "a"),
         "--quiet", "--save-inventory", str(inv))
    code, _, _ = _run(capsys, "scan", "--from-inventory", str(inv), "--checks", "kms.*", "--output-dir",
                      str(tmp_path / "b"), "--quiet")
    assert code == 1
    a = json.loads((tmp_path / "a" / "report.json").read_text())
    b = json.loads((tmp_path / "b" / "report.json").read_text())
    assert a["findings"] == b["findings"]


@pytest.mark.parametrize("argv,match", [
    (["scan", "--profile", "no-such-profile"], "no-such-profile"),
    (["scan", "--regions", "us-east-1,mars-north-1"], "unknown region(s): mars-north-1"),
    (["scan", "--checks", "nope.*"], "no check matches 'nope.*'"),
    (["scan", "--format", "pdf"], "unknown format pdf"),
    (["scan", "--from-inventory", "/nonexistent/inv.json"], "cannot read inventory"),
    (["scan", "--config", "/nonexistent.toml"], "cannot read config"),
    (["scan", "--fail-on", "urgent"], "invalid Severity value"),
])
def test_bad_input_is_one_line_exit_2(aws, tmp_path, capsys, argv, match):
    code, _, err = _run(capsys, *argv, "--output-dir", str(tmp_path))
    assert code == 2
    assert match in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "report.json").exists()


def test_malformed_inventory(aws, tmp_path, capsys):
    bad = tmp_path / "inv.json"
    bad.write_text("{not json")
    code, _, err = _run(capsys, "scan", "--from-inventory", str(bad), "--output-dir", str(tmp_path))
    assert code == 2 and "not a valid snapshot" in err and err.count("\n") == 1


def test_policy_lists_declared_read_actions(capsys):
    code, out, _ = _run(capsys, "policy")
    doc = json.loads(out)
    actions = doc["Statement"][0]["Action"]
    assert code == 0 and "kms:GetKeyRotationStatus" in actions and "sts:GetCallerIdentity" in actions
    assert actions == sorted(actions)


def test_list_checks_filters(capsys):
    code, out, _ = _run(capsys, "list-checks", "--service", "kms", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["id"] for r in rows} >= {"kms.cmk-rotation", "kms.no-pending-deletion"}
    _, out, _ = _run(capsys, "list-checks", "--framework", "cis-v7:4.6", "--json")
    assert [r["id"] for r in json.loads(out)] == ["kms.cmk-rotation"]
    _, out, _ = _run(capsys, "list-checks", "--all", "--json")
    assert len(json.loads(out)) == 163 + 34


def test_schema_is_published_and_current(capsys):
    from pathlib import Path

    code, out, _ = _run(capsys, "schema")
    published = Path(__file__).resolve().parent.parent / "schema" / "report.schema.json"
    assert code == 0 and json.loads(out)["title"] == "AuditResult"
    assert published.read_text() == out, "run: auditor schema > schema/report.schema.json"


def _waiver_file(tmp_path, resource="*", expires="2099-01-01"):
    p = tmp_path / "waivers.toml"
    p.write_text(f'[[waiver]]\ncheck = "kms.cmk-rotation"\nresource = "{resource}"\nowner = "sec@example.com"\n'
                 f'reason = "vendor key, rotated by the vendor"\nexpires = {expires}\n')
    return p


def test_waived_failure_exits_0_and_is_waived_in_json(kms_fail, tmp_path, capsys):
    code, _, _ = _run(capsys, "scan", "--regions", "us-east-1", "--checks", "kms.cmk-rotation", "--output-dir",
                      str(tmp_path), "--quiet", "--waivers", str(_waiver_file(tmp_path)))
    report = json.loads((tmp_path / "report.json").read_text())
    [f] = [f for f in report["findings"] if f["check_id"] == "kms.cmk-rotation"]
    assert code == 0 and f["status"] == "WAIVED" and f["waiver"]["owner"] == "sec@example.com"


def test_bad_waivers_file_fails_before_scanning(kms_fail, tmp_path, capsys):
    bad = tmp_path / "w.toml"
    bad.write_text('[[waiver]]\ncheck = "kms.cmk-rotation"\n')
    code, _, err = _run(capsys, "scan", "--regions", "us-east-1", "--output-dir", str(tmp_path), "--waivers", str(bad))
    assert code == 2 and "waiver 1" in err and err.count("\n") == 1
    assert not (tmp_path / "report.json").exists()


def test_baseline_fail_on_new_and_diff(kms_fail, tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    args = ["scan", "--regions", "us-east-1", "--checks", "kms.*", "--quiet"]
    assert _run(capsys, *args, "--output-dir", str(first))[0] == 1
    base = str(first / "report.json")
    # nothing changed: the old failure is not new
    assert _run(capsys, *args, "--output-dir", str(second), "--baseline", base, "--fail-on-new")[0] == 0
    boto3.client("kms", region_name="us-east-1").create_key()  # a new unrotated key: a new failure
    assert _run(capsys, *args, "--output-dir", str(second), "--baseline", base, "--fail-on-new")[0] == 1
    code, out, _ = _run(capsys, "diff", base, str(second / "report.json"), "--json", "--fail-on-new")
    d = json.loads(out)
    assert code == 1 and len(d["new_failures"]) == 1 and len(d["persisting"]) == 1 and d["fixed"] == []


def test_fail_on_new_needs_a_baseline(kms_fail, tmp_path, capsys):
    code, _, err = _run(capsys, "scan", "--fail-on-new", "--output-dir", str(tmp_path))
    assert code == 2 and "--fail-on-new needs --baseline" in err


def test_sarif_withholds_incomplete_scopes_and_says_so(kms_fail, tmp_path, capsys, monkeypatch):
    import auditor.session as session_mod
    from tests.conftest import deny

    real = session_mod.AuditSession.__init__

    def init(self, *a, **kw):
        real(self, *a, **kw)
        deny(self, "kms.GetKeyRotationStatus")
    monkeypatch.setattr(session_mod.AuditSession, "__init__", init)
    (tmp_path / "report-2.sarif").write_text("stale")  # from an earlier split run
    code, _, err = _run(capsys, "scan", "--regions", "us-east-1,eu-west-1", "--checks", "kms.*", "--output-dir",
                        str(tmp_path), "--quiet", "--format", "json,sarif")
    assert code == 3  # the only unrotated key could not be read: incomplete, not failing
    assert "123456789012/us-east-1" in err and "incomplete scope" in err
    sarif = json.loads((tmp_path / "report.sarif").read_text())
    ids = [r["automationDetails"]["id"] for r in sarif["runs"]]
    assert "awsaudit/123456789012/us-east-1/" not in ids and "awsaudit/123456789012/eu-west-1/" in ids
    assert not (tmp_path / "report-2.sarif").exists()


def test_policy_for_an_organization_scan(capsys):
    code, out, _ = _run(capsys, "policy", "--member-role", "AuditorReadOnly")
    read, assume = json.loads(out)["Statement"]
    assert code == 0 and "organizations:ListTagsForResource" in read["Action"]
    assert assume == {"Sid": "AuditorAssumeMemberRole", "Effect": "Allow", "Action": "sts:AssumeRole",
                      "Resource": "arn:*:iam::*:role/AuditorReadOnly"}
