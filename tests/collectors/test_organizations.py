from __future__ import annotations

import json
from collections import Counter
from types import SimpleNamespace
from typing import Any

import boto3

from auditor.collectors.organizations import DELEGATION, POLICIES, SCP, TREE
from auditor.config import AuditConfig
from auditor.runner import collect, select_checks
from auditor.session import AuditSession
from tests.conftest import ACCOUNT, deny

OTHER_MANAGEMENT = "999999999999"
DENY_LEAVE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]})


def respond(session: AuditSession, operation: str, parsed: dict[str, Any] | None = None, *,
            error: str | None = None) -> None:
    """Answer `service.Operation` with a recorded response (or error) before any request is built.

    For APIs moto lacks: botocore uses what a before-call handler returns instead of sending the request.
    """
    def handler(model: Any, **_: Any) -> Any:
        if f"{model.service_model.service_name}.{model.name}" != operation:
            return None
        if error:
            return SimpleNamespace(status_code=400), {"Error": {"Code": error, "Message": "recorded fixture"},
                                                      "ResponseMetadata": {"HTTPStatusCode": 400}}
        return SimpleNamespace(status_code=200), {**(parsed or {}), "ResponseMetadata": {"HTTPStatusCode": 200}}
    session.boto._session.register("before-call", handler)
    session._clients.clear()


def as_member(session: AuditSession) -> None:
    """This account is a plain member of someone else's organization: it may describe it, nothing more."""
    respond(session, "organizations.DescribeOrganization", {"Organization": {
        "Id": "o-member0000", "Arn": f"arn:aws:organizations::{OTHER_MANAGEMENT}:organization/o-member0000",
        "FeatureSet": "ALL", "MasterAccountId": OTHER_MANAGEMENT, "MasterAccountEmail": "root@example.com"}})
    deny(session, "organizations.List*", "organizations.DescribePolicy", "organizations.DescribeResourcePolicy",
         code="AccessDeniedException")


def build_org() -> dict[str, str]:
    """Management account with Security, Workloads/Prod, Workloads/Dev, two members and a deny-leave SCP."""
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    ids = {"root": root}
    ids["security"] = org.create_organizational_unit(ParentId=root, Name="Security")["OrganizationalUnit"]["Id"]
    ids["workloads"] = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    for name in ("Prod", "Dev"):
        ou = org.create_organizational_unit(ParentId=ids["workloads"], Name=name)["OrganizationalUnit"]["Id"]
        ids[name.lower()] = ou
        acct = org.create_account(AccountName=f"{name.lower()}-app", Email=f"{name}@example.com")
        ids[f"{name.lower()}_account"] = acct["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=ids[f"{name.lower()}_account"], SourceParentId=root, DestinationParentId=ou)
    ids["scp"] = org.create_policy(Name="deny-leave", Type=SCP, Content=DENY_LEAVE, Description="")[
        "Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=ids["scp"], TargetId=root)
    return ids


def _inventory(session: AuditSession):  # type: ignore[no-untyped-def]
    specs = select_checks(["org.ou-structure", "org.delegated-admins", "org.scps-on-ous"])
    return collect(session, specs, ["us-east-1"], AuditConfig(workers=4))


def _record(session: AuditSession) -> Counter[str]:
    seen: Counter[str] = Counter()

    def note(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_name == "organizations":
            seen[f"{model.name} {json.dumps(params.get('body', params), sort_keys=True, default=str)}"] += 1
    session.boto._session.register("before-call", note)
    session._clients.clear()
    return seen


def test_tree_policies_and_delegation_are_read_once_each(session):
    ids = build_org()
    seen = _record(session)
    inv = _inventory(session)
    org = inv.organizations
    assert org.in_organization and org.caller_is_management and org.denied == {}
    assert org.organization.management_account_id == ACCOUNT
    assert org.roots[0].enabled_policy_types == [SCP]
    units = {u.name: u for u in org.units}
    assert units["Prod"].parent_id == ids["workloads"] and units["Prod"].depth == 2 and units["Security"].depth == 1
    parents = {a.id: a.parent_id for a in org.accounts}
    assert parents[ids["prod_account"]] == ids["prod"] and parents[ACCOUNT] == ids["root"]
    [custom] = [p for p in org.policies if not p.aws_managed]
    assert custom.content == DENY_LEAVE and [t.target_id for t in custom.targets] == [ids["root"]]
    assert all(p.content is None for p in org.policies if p.aws_managed)  # FullAWSAccess needs no detail call
    assert [k for k, n in seen.items() if n > 1] == []
    assert not any(k.startswith(("ListParents", "ListPoliciesForTarget", "ListAccounts ")) for k in seen)
    assert sum(1 for k in seen if k.startswith("DescribePolicy")) == 1


def test_not_in_an_organization_is_data_and_stops_there(session):
    seen = _record(session)
    inv = _inventory(session)
    assert inv.organizations.in_organization is False and inv.gaps == []
    assert [k.split()[0] for k in seen] == ["DescribeOrganization"]


def test_member_account_refusals_are_recorded_as_data_not_gaps(session):
    as_member(session)
    org = _inventory(session).organizations
    assert org.in_organization and not org.caller_is_management
    assert set(org.denied) == {TREE, POLICIES, DELEGATION}


def test_management_account_refusal_is_a_gap(session):
    build_org()
    deny(session, "organizations.ListRoots")
    inv = _inventory(session)
    assert inv.organizations.denied == {}
    assert [(g.dataset, g.operation) for g in inv.gaps if g.dataset == TREE] == [(TREE, "ListRoots")]


def test_unreadable_policy_detail_is_a_gap_on_that_policy_only(session):
    ids = build_org()
    deny(session, "organizations.DescribePolicy")
    inv = _inventory(session)
    [gap] = [g for g in inv.gaps if g.operation == "DescribePolicy"]
    assert gap.resource_id and gap.resource_id.endswith(ids["scp"])
    assert [p.content for p in inv.organizations.policies if not p.aws_managed] == [None]


def test_delegation_policy_from_recorded_response(session):
    build_org()
    content = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Action": ["organizations:DescribePolicy", "organizations:ListPolicies"], "Resource": "*"}]})
    respond(session, "organizations.DescribeResourcePolicy", {"ResourcePolicy": {
        "ResourcePolicySummary": {"Id": "rp-12345678", "Arn": "arn:aws:organizations::123456789012:resourcepolicy/"
                                  "o-x/rp-12345678"}, "Content": content}})
    org = _inventory(session).organizations
    assert org.delegation_policy_read and org.delegation_policy == content


def test_absent_delegation_policy_is_data(session):
    build_org()
    respond(session, "organizations.DescribeResourcePolicy", error="ResourcePolicyNotFoundException")
    inv = _inventory(session)
    assert inv.organizations.delegation_policy_read and inv.organizations.delegation_policy is None
    assert [g for g in inv.gaps if g.dataset == DELEGATION] == []
