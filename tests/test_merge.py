"""`auditor merge`: a 2-shard organization scan merges into the same report as one unsharded scan; merge refuses
reports of different scans and missing shards unless told to; JSON, SARIF and HTML render from the merged report."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from moto import mock_aws

from auditor.cli import main
from auditor.config import AuditConfig, ConfigError
from auditor.merge import AccountEntry, OrgResult, load_org_report, merge_reports, write_org_reports
from auditor.organization import OrgOptions, scan_organization
from auditor.scan import ScanOptions
from tests.conftest import new_session
from tests.test_organization import ROLE, build_org, refuse_missing_roles

CHECKS = ["kms.*", "iam.password-policy-*", "org.account-in-organization"]


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """One moto organization scanned three ways: unsharded, and as shards 1/2 and 2/2 of scan 'run-42'."""
    out = tmp_path_factory.mktemp("org")
    with mock_aws():
        org = build_org()
        mgmt = new_session()
        refuse_missing_roles(mgmt)
        dirs = {}
        for name, shard, scan_id in (("full", (1, 1), "run-1"), ("s1", (1, 2), "run-42"), ("s2", (2, 2), "run-42")):
            opts = ScanOptions(regions=["us-east-1"], checks=CHECKS, include_manual=False,
                               formats=["json", "sarif"], output_dir=out / name)
            res = scan_organization(mgmt, opts, OrgOptions(member_role=ROLE, shard=shard, scan_id=scan_id,
                                                           in_flight=2), AuditConfig(workers=4))
            write_org_reports(res, opts)
            dirs[name] = out / name
    return org, dirs


def _merge(capsys, *argv):
    code = main(["merge", *map(str, argv)])
    return code, capsys.readouterr().err


def _verdicts(org: OrgResult) -> dict[str, object]:
    """Everything a reader acts on, per account: findings, gaps, checks, the reason an account was not scanned."""
    return {e.account_id: (e.error, None if e.result is None else
                           (e.result.identity, e.result.regions, e.result.findings, e.result.gaps, e.result.checks,
                            e.result.summary))
            for e in org.accounts}


def test_two_shards_merge_into_the_unsharded_scan(scans, tmp_path, capsys):
    org, d = scans
    full = load_org_report(d["full"] / "org-report.json")
    s1, s2 = (load_org_report(d[s] / "org-report.json") for s in ("s1", "s2"))
    assert s1.accounts and s2.accounts and not {e.account_id for e in s1.accounts} & {e.account_id for e in s2.accounts}
    code, err = _merge(capsys, d["s2"] / "org-report.json", d["s1"] / "org-report.json", "--output-dir", tmp_path,
                       "--format", "json,sarif,html")
    merged = load_org_report(tmp_path / "org-report.json")
    assert code == 1 and err == ""  # failing keys (and one account whose role is missing)
    assert merged.shards == [1, 2] and merged.missing == [] and merged.selected == full.selected
    assert _verdicts(merged) == _verdicts(full)
    assert [e.error for e in merged.accounts if e.result is None] == [
        e.error for e in full.accounts if e.result is None] != []
    # SARIF renders per account from the merged report: the same bytes as the unsharded scan's, per account
    for e in merged.accounts:
        if e.result is not None:
            got = json.loads((tmp_path / "accounts" / e.account_id / "report.sarif").read_text())
            want = json.loads((d["full"] / "accounts" / e.account_id / "report.sarif").read_text())
            for run in (*got["runs"], *want["runs"]):
                run.pop("invocations")
            assert got == want and got["runs"][0]["automationDetails"]["id"].startswith(f"awsaudit/{e.account_id}/")
    assert "Accounts by area" in (tmp_path / "org-report.html").read_text()


def test_account_reports_merge_too(scans, tmp_path, capsys):
    _, d = scans
    full = load_org_report(d["full"] / "org-report.json")
    accounts = [p for s in ("s1", "s2") for p in sorted((d[s] / "accounts").glob("*/report.json"))]
    # the account whose role is missing has no report.json: it is missing, unless the shard report is given
    code, err = _merge(capsys, *accounts, "--output-dir", tmp_path / "a")
    assert code == 2 and "missing shard(s)" in err
    code, _ = _merge(capsys, *accounts, d["s1"] / "org-report.json", d["s2"] / "org-report.json",
                     "--output-dir", tmp_path / "b")
    merged = load_org_report(tmp_path / "b" / "org-report.json")
    assert code == 1 and _verdicts(merged) == _verdicts(full)
    assert [e.name for e in merged.accounts] == [e.name for e in full.accounts]


def test_refuses_reports_of_different_scans(scans, tmp_path, capsys):
    _, d = scans
    code, err = _merge(capsys, d["full"] / "org-report.json", d["s1"] / "org-report.json", "--output-dir", tmp_path)
    assert code == 2 and "different scans" in err and "run-1" in err and "run-42" in err
    assert not (tmp_path / "org-report.json").exists()


def test_refuses_a_missing_shard_unless_allowed(scans, tmp_path, capsys):
    _, d = scans
    code, err = _merge(capsys, d["s1"] / "org-report.json", "--output-dir", tmp_path)
    assert code == 2 and "missing shard(s) 2/2" in err and "--allow-partial" in err
    code, _ = _merge(capsys, d["s1"] / "org-report.json", "--output-dir", tmp_path, "--allow-partial",
                     "--format", "json,html", "--fail-on", "critical")
    merged = load_org_report(tmp_path / "org-report.json")
    s2 = load_org_report(d["s2"] / "org-report.json")
    assert code == 3 and merged.shards == [1] and merged.missing == sorted(e.account_id for e in s2.accounts)
    html = (tmp_path / "org-report.html").read_text()
    assert all(f'id="acct-{a}"' in html for a in merged.missing) and "shard 2/2 was not merged" in html


def test_refuses_shards_that_saw_different_account_lists(scans, tmp_path):
    _, d = scans
    s1, s2 = (load_org_report(d[s] / "org-report.json") for s in ("s1", "s2"))
    changed = s2.model_copy(update={"selected": s2.selected[:-1]})
    with pytest.raises(ConfigError, match="different organizations, shard counts or account lists"):
        merge_reports([(Path("a"), s1), (Path("b"), changed)])
    relabeled = s2.model_copy(update={"accounts": [e.model_copy(update={"shard": 1}) for e in s2.accounts]})
    with pytest.raises(ConfigError, match="reported as shard 1, but shard 2 scans it"):
        merge_reports([(Path("a"), s1), (Path("b"), relabeled)])


def test_a_rescanned_account_replaces_its_error_entry(scans):
    _, d = scans
    s1, s2 = (load_org_report(d[s] / "org-report.json") for s in ("s1", "s2"))
    donor = next(e for e in (*s1.accounts, *s2.accounts) if e.result is not None)
    broken = next(e for e in (*s1.accounts, *s2.accounts) if e.result is None)
    later = donor.result.model_copy(update={"finished_at": donor.result.finished_at + timedelta(hours=1)})
    retry = OrgResult(**{**s1.model_dump(exclude={"accounts"}), "accounts": [
        AccountEntry(account_id=broken.account_id, shard=broken.shard, result=later)]})
    merged = merge_reports([(Path("a"), s1), (Path("b"), s2), (Path("c"), retry)])
    entry = next(e for e in merged.accounts if e.account_id == broken.account_id)
    assert entry.result == later and entry.error == "" and entry.name == broken.name


def test_single_account_report_is_refused(tmp_path):
    from tests.reports.conftest import complete_findings, make_result

    p = tmp_path / "report.json"
    p.write_text(make_result(complete_findings()).model_dump_json())
    with pytest.raises(ConfigError, match="not part of an organization scan"):
        load_org_report(p)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="not an auditor report"):
        load_org_report(tmp_path / "bad.json")
