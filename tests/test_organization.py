"""Organization scans under moto: listing and filters, member roles, a refused account, shards, the CLI.

moto keys state by account id for assumed-role credentials, so each member account is its own backend. moto's
AssumeRole succeeds for any role name, so `refuse_missing_roles` makes it answer as AWS does when the role does not
exist in the target account (AccessDenied), reading moto's IAM backend.
"""
from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from auditor.config import AuditConfig, ConfigError
from auditor.merge import shard_accounts
from auditor.models import Status
from auditor.organization import (
    Member,
    OrgOptions,
    account_workers,
    list_members,
    matches,
    scan_organization,
    select_members,
)
from auditor.scan import ScanOptions
from tests.conftest import _LOADER, ACCOUNT, new_session

ROLE = "AuditorReadOnly"
CHECKS = ["kms.*", "iam.password-policy-*", "org.account-in-organization"]


def _boto(creds: dict[str, str] | None = None) -> boto3.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)  # parsing service models again costs ~0.5 s per session
    if creds:
        core.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    return boto3.Session(botocore_session=core, region_name="us-east-1")


def _assumed(account_id: str, role: str = "OrganizationAccountAccessRole") -> boto3.Session:
    creds = _boto().client("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role}",
                                              RoleSessionName="setup")["Credentials"]
    return _boto(creds)


def build_org(n_members: int = 4, missing_role: int | None = 2) -> SimpleNamespace:
    """Management 123456789012 plus members: dev (root), web and data (/Prod), ops (/Prod/Platform)..."""
    org = _boto().client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]["Id"]
    platform = org.create_organizational_unit(ParentId=prod, Name="Platform")["OrganizationalUnit"]["Id"]
    names = ["dev", "web", "data", "ops", "qa", "edge"][:n_members]
    parents = [root, prod, prod, platform, root, prod]
    ids = {}
    for i, name in enumerate(names):
        acct = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        ids[name] = acct
        if parents[i] != root:
            org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=parents[i])
        if name == "data":
            org.tag_resource(ResourceId=acct, Tags=[{"Key": "env", "Value": "prod"}])
        member = _assumed(acct)
        if i != missing_role:
            member.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}))
        if i % 2 == 0:
            member.client("kms").create_key()  # rotation off: a FAIL in this account
    _boto().client("kms").create_key()  # and one in the management account
    return SimpleNamespace(ids=ids, root=root, prod=prod, platform=platform)


def refuse_missing_roles(session: Any) -> None:
    """AssumeRole of a role that does not exist in the target account: AccessDenied, as AWS answers."""
    from moto.iam.models import iam_backends

    def check(params: dict[str, Any], **_: Any) -> None:
        arn = params["RoleArn"]
        acct, name = arn.split(":")[4], arn.rsplit("/", 1)[-1]
        roles = iam_backends[acct]["aws"].roles.values()
        if not any(r.name == name for r in roles):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": f"not authorized to assume {arn}"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, "AssumeRole")
    session.boto._session.register("before-parameter-build.sts.AssumeRole", check)


@pytest.fixture
def org(aws):
    return build_org()


@pytest.fixture
def mgmt(org):
    s = new_session()
    refuse_missing_roles(s)
    return s


def run(mgmt, checks=CHECKS, **kw) -> Any:
    opts = ScanOptions(regions=["us-east-1"], checks=checks, include_manual=False)
    return scan_organization(mgmt, opts, OrgOptions(member_role=ROLE, **kw), AuditConfig(workers=4))


def test_lists_active_accounts_with_ou_paths(org, mgmt):
    listing = list_members(mgmt)
    by_name = {m.name: m for m in listing.members}
    assert listing.management_account_id == ACCOUNT and listing.organization_id.startswith("o-")
    assert [m.id for m in listing.members] == sorted([ACCOUNT, *org.ids.values()])
    assert by_name["dev"].ou_path == "/" and by_name["web"].ou_path == "/Prod"
    assert by_name["ops"].ou_path == "/Prod/Platform"
    assert by_name["ops"].ancestors == (org.root, org.prod, org.platform)


def test_filters_by_id_ou_path_ou_id_and_tag(org, mgmt):
    members = list_members(mgmt).members
    names = lambda got: sorted(m.name for m in got)  # noqa: E731
    assert names(select_members(mgmt, members, ["/Prod"], [])) == ["data", "ops", "web"]
    assert names(select_members(mgmt, members, [org.prod], [org.ids["web"]])) == ["data", "ops"]
    assert names(select_members(mgmt, members, ["tag:env=prod"], [])) == ["data"]
    assert names(select_members(mgmt, members, [], ["/Prod/*", "tag:env"])) == ["dev", "master", "web"]
    with pytest.raises(ConfigError, match="matches no active account"):
        select_members(mgmt, members, ["999999999999"], [])
    with pytest.raises(ConfigError, match="not an account id"):
        select_members(mgmt, members, ["prod"], [])


def test_ou_path_globs_match_the_account_or_an_ou_above():
    m = Member(id="111111111111", name="x", ou_path="/Prod/Platform", ancestors=("r-ab12", "ou-ab12-11111111"))
    assert matches(m, "/Prod") and matches(m, "/Prod/") and matches(m, "/Prod/*") and matches(m, "/")
    assert not matches(m, "/Dev") and not matches(m, "/Prod/Web")


def test_member_role_per_account_and_a_refused_role_is_an_error_entry(org, mgmt):
    res = run(mgmt)
    by_id = {e.account_id: e for e in res.accounts}
    broken = by_id[org.ids["data"]]
    assert broken.result is None and "AccessDenied" in broken.error and f"{org.ids['data']}:role/{ROLE}" in broken.error
    scanned = [e for e in res.accounts if e.result is not None]
    assert len(scanned) == 4 and not res.complete
    for e in scanned:  # each account was read through its own backend
        assert e.result.identity.account_id == e.account_id
        assert {f.account_id for f in e.result.findings} == {e.account_id}
        assert e.result.org_scan.scan_id == res.scan_id and e.result.org_scan.accounts == res.selected
    kms = {e.name: sorted({f.status for f in e.result.findings if f.check_id == "kms.cmk-rotation"})
           for e in scanned}
    assert kms == {"master": [Status.FAIL], "dev": [Status.FAIL], "web": [Status.NOT_APPLICABLE],
                   "ops": [Status.NOT_APPLICABLE]}
    # organization-level checks run once, in the scan of the account the organization scan ran from
    org_checks = {e.name: [f.status for f in e.result.findings if f.check_id.startswith("org.")] for e in scanned}
    assert org_checks == {"master": [Status.PASS], "dev": [], "web": [], "ops": []}


def test_shards_cover_every_account_exactly_once():
    ids = [f"{i:012d}" for i in range(23, 0, -1)]
    for n in (1, 2, 3, 7, 23, 30):
        parts = [shard_accounts(ids, i, n) for i in range(1, n + 1)]
        flat = [a for p in parts for a in p]
        assert sorted(flat) == sorted(ids) and len(flat) == len(set(flat))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_shard_scans_only_its_part_and_records_the_scan(org, mgmt):
    res = run(mgmt, shard=(2, 3), scan_id="run-7")
    assert res.shards == [2] and res.shard_count == 3 and res.scan_id == "run-7"
    assert [e.account_id for e in res.accounts] == shard_accounts(res.selected, 2, 3)
    assert {e.result.org_scan.shard for e in res.accounts if e.result} == {2}


def test_shard_needs_a_scan_id(org, mgmt):
    with pytest.raises(ConfigError, match="--scan-id"):
        run(mgmt, shard=(1, 2))


def test_listing_refused_is_a_credential_error(org):
    from auditor.errors import CredentialError
    from tests.conftest import deny

    s = new_session()
    deny(s, "organizations.ListAccountsForParent")
    with pytest.raises(CredentialError, match="organizations:ListAccountsForParent"):
        list_members(s)


def test_thread_budget():
    assert account_workers(16, 1) == 16 and account_workers(16, 8) == 16
    assert account_workers(16, 32) == 4 and account_workers(16, 200) == 2


def test_cli_org_scan_writes_account_and_org_reports(org, tmp_path, capsys, monkeypatch):
    import auditor.session as session_mod
    from auditor.cli import main

    real = session_mod.AuditSession.__init__

    def init(self, *a, **kw):
        real(self, *a, **kw)
        refuse_missing_roles(self)
    monkeypatch.setattr(session_mod.AuditSession, "__init__", init)
    stale = tmp_path / "accounts" / org.ids["data"] / "report.sarif"  # from a day the role still existed
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    (stale.parent / "notes.txt").write_text("not ours")
    code = main(["scan", "--organization", "--member-role", ROLE, "--regions", "us-east-1", "--checks", "kms.*",
                 "--exclude-accounts", org.ids["web"], "--format", "json,sarif,html", "--output-dir", str(tmp_path),
                 "--accounts-in-flight", "2"])
    out, err = capsys.readouterr()
    assert code == 1  # failing keys; the refused account alone would make it 3
    assert f"account {org.ids['data']} (data) not scanned" in err and "AccessDenied" in err
    doc = json.loads((tmp_path / "org-report.json").read_text())
    assert doc["kind"] == "organization" and len(doc["accounts"]) == 4
    for acct in (ACCOUNT, org.ids["dev"]):
        report = json.loads((tmp_path / "accounts" / acct / "report.json").read_text())
        assert report["org_scan"]["scan_id"] == doc["scan_id"]
        assert (tmp_path / "accounts" / acct / "report.sarif").is_file()
    assert sorted(p.name for p in stale.parent.iterdir()) == ["notes.txt"]
    assert (tmp_path / "org-report.html").is_file()


@pytest.mark.parametrize("argv,match", [
    (["scan", "--organization"], "--member-role"),
    (["scan", "--member-role", ROLE], "need(s) --organization"),
    (["scan", "--organization", "--member-role", ROLE, "--shard", "3/2"], "between 1 and N"),
    (["scan", "--organization", "--member-role", ROLE, "--shard", "x"], "is not I/N"),
])
def test_cli_org_usage_errors(aws, tmp_path, capsys, argv, match):
    from auditor.cli import main

    code = main([*argv, "--output-dir", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 2 and match in err and err.count("\n") == 1
