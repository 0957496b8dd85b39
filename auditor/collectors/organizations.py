"""AWS Organizations, read once per scan: the organization, its tree, its policies and its delegations.

The tree is walked parent by parent (ListOrganizationalUnitsForParent + ListAccountsForParent), which gives
every account's parent without a ListParents call per account; policy targets come from one
ListTargetsForPolicy per policy instead of one ListPoliciesForTarget per account.

Only the management account (or a delegated administrator) may read most of this. A member account that is
refused records that refusal as data (`denied`), so its checks say "run from the management account"
instead of guessing; the management account itself being refused is a normal gap.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Frozen, Resource

ORG = "organizations.organization"
TREE = "organizations.tree"
POLICIES = "organizations.policies"
DELEGATION = "organizations.delegation"

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
TAG_POLICY = "TAG_POLICY"
POLICY_TYPES = (SCP, RCP, TAG_POLICY)

_NOT_IN_USE = ("AWSOrganizationsNotInUseException",)
_MEMBER_DENIED = ("AccessDeniedException", "AccessDenied")


class Organization(Resource):
    resource_type: ClassVar[str] = "AWS::Organizations::Organization"
    feature_set: str = ""
    management_account_id: str = ""
    management_account_email: str = ""


class OrgRoot(Resource):
    resource_type: ClassVar[str] = "AWS::Organizations::Root"
    name: str = ""
    enabled_policy_types: list[str] = []


class OrgUnit(Resource):
    resource_type: ClassVar[str] = "AWS::Organizations::OrganizationalUnit"
    name: str = ""
    parent_id: str = ""
    depth: int = 1  # children of the root are depth 1


class OrgAccount(Resource):
    resource_type: ClassVar[str] = "AWS::Organizations::Account"
    name: str = ""
    email: str = ""
    status: str = ""
    parent_id: str = ""


class PolicyTarget(Frozen):
    target_id: str
    type: str  # ROOT | ORGANIZATIONAL_UNIT | ACCOUNT
    name: str = ""


class OrgPolicy(Resource):
    resource_type: ClassVar[str] = "AWS::Organizations::Policy"
    name: str = ""
    type: str = ""
    aws_managed: bool = False
    # None: not read (a gap names the policy), or not needed (AWS-managed policies have fixed content)
    content: str | None = None
    targets: list[PolicyTarget] | None = None


class DelegatedAdmin(Frozen):
    account_id: str
    name: str = ""
    services: list[str] | None = None  # None: not readable (see gaps)


class OrganizationsSection(Section):
    in_organization: bool | None = None  # None: DescribeOrganization could not be read (see gaps)
    organization: Organization | None = None
    caller_is_management: bool = False
    denied: dict[str, str] = {}  # dataset -> error code, when a member account was refused (data, not a gap)
    roots: list[OrgRoot] = []
    units: list[OrgUnit] = []
    accounts: list[OrgAccount] = []
    policies: list[OrgPolicy] = []
    trusted_services: list[str] = []
    delegated_admins: list[DelegatedAdmin] = []
    delegation_policy: str | None = None  # the Organizations resource policy, when one exists
    delegation_policy_read: bool = False


def delegation_policy_arn(partition: str, account_id: str) -> str:
    """The synthetic ARN of the delegation-policy setting (same shape as Inventory.setting)."""
    return f"arn:{partition}:organizations::{account_id}:account-setting/delegation-policy"


@collector("organizations", section=OrganizationsSection, regional=False, datasets={
    ORG: ("organizations:DescribeOrganization",),
    TREE: ("organizations:ListRoots", "organizations:ListOrganizationalUnitsForParent",
           "organizations:ListAccountsForParent"),
    POLICIES: ("organizations:ListPolicies", "organizations:DescribePolicy", "organizations:ListTargetsForPolicy"),
    DELEGATION: ("organizations:ListAWSServiceAccessForOrganization", "organizations:ListDelegatedAdministrators",
                 "organizations:ListDelegatedServicesForAccount", "organizations:DescribeResourcePolicy"),
})
def collect_organizations(ctx: CollectContext) -> OrganizationsSection:
    client = ctx.client()
    resp = ctx.call(ORG, client, "describe_organization", absent=_NOT_IN_USE)
    if resp is None:
        return OrganizationsSection()
    if resp is NOT_FOUND:
        return OrganizationsSection(in_organization=False)
    o = resp["Organization"]
    org = Organization(arn=o["Arn"], id=o["Id"], account_id=o.get("MasterAccountId", ""),
                       feature_set=o.get("FeatureSet", ""), management_account_id=o.get("MasterAccountId", ""),
                       management_account_email=o.get("MasterAccountEmail", ""))
    reader = _Reader(ctx, client, management=org.management_account_id == ctx.account_id)
    roots, units, accounts = _tree(reader)
    policies = _policies(reader)
    trusted, admins, policy, policy_read = _delegation(reader)
    return OrganizationsSection(
        in_organization=True, organization=org, caller_is_management=reader.management, denied=reader.denied,
        roots=roots, units=units, accounts=accounts, policies=policies, trusted_services=trusted,
        delegated_admins=admins, delegation_policy=policy, delegation_policy_read=policy_read)


class _Reader:
    """Paged reads that tell a member account's refusal (data) apart from a failed read (gap)."""

    def __init__(self, ctx: CollectContext, client: Any, management: bool) -> None:
        self.ctx, self.client, self.management = ctx, client, management
        self.denied: dict[str, str] = {}

    def pages(self, dataset: str, method: str, key: str, resource_id: str | None = None,
              **params: Any) -> list[Any] | None:
        """Every item across pages; None when refused to a member account or when a gap was recorded."""
        absent = () if self.management else _MEMBER_DENIED
        items: list[Any] = []
        token: str | None = None
        while True:
            extra = {"NextToken": token} if token else {}
            resp = self.ctx.call(dataset, self.client, method, absent=absent, resource_id=resource_id,
                                 **params, **extra)
            if resp is NOT_FOUND:
                self.denied.setdefault(dataset, "AccessDeniedException")
                return None
            if resp is None:
                return None
            items.extend(resp.get(key, []))
            token = resp.get("NextToken")
            if not token:
                return items


def _tree(r: _Reader) -> tuple[list[OrgRoot], list[OrgUnit], list[OrgAccount]]:
    raw_roots = r.pages(TREE, "list_roots", "Roots")
    if raw_roots is None:
        return [], [], []
    roots = [OrgRoot(arn=x["Arn"], id=x["Id"], name=x.get("Name", ""),
                     enabled_policy_types=sorted(p["Type"] for p in x.get("PolicyTypes", [])
                                                 if p.get("Status") == "ENABLED"))
             for x in raw_roots]
    units: list[OrgUnit] = []
    accounts: list[OrgAccount] = []
    level = [(x.id, 0) for x in roots]
    while level:  # one level at a time, its parents read side by side
        next_level = []
        for ous, accts in r.ctx.map(lambda parent: _children(r, *parent), level):
            units.extend(ous)
            accounts.extend(accts)
            next_level.extend((u.id, u.depth) for u in ous)
        level = next_level
    return roots, sorted(units, key=lambda u: u.id), sorted(accounts, key=lambda a: a.id)


def _children(r: _Reader, parent_id: str, depth: int) -> tuple[list[OrgUnit], list[OrgAccount]]:
    # `or []` is safe: a failed page recorded a gap on the tree, so the tree's checks become ERROR.
    ous = r.pages(TREE, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent_id) or []
    accts = r.pages(TREE, "list_accounts_for_parent", "Accounts", ParentId=parent_id) or []
    return ([OrgUnit(arn=u["Arn"], id=u["Id"], name=u.get("Name", ""), parent_id=parent_id, depth=depth + 1)
             for u in ous],
            [OrgAccount(arn=a["Arn"], id=a["Id"], account_id=a["Id"], name=a.get("Name", ""),
                        email=a.get("Email", ""), status=a.get("Status", ""), parent_id=parent_id)
             for a in accts])


def _policies(r: _Reader) -> list[OrgPolicy]:
    summaries: list[dict[str, Any]] = []
    for ptype in POLICY_TYPES:
        listed = r.pages(POLICIES, "list_policies", "Policies", Filter=ptype)
        if listed is None:
            return []
        summaries.extend(listed)

    def detail(s: dict[str, Any]) -> OrgPolicy:
        base = {"arn": s["Arn"], "id": s["Id"], "name": s.get("Name", ""), "type": s.get("Type", ""),
                "aws_managed": bool(s.get("AwsManaged"))}
        if base["aws_managed"]:
            return OrgPolicy(**base)  # FullAWSAccess / RCPFullAWSAccess: allow-all, no guardrail in them
        desc = r.ctx.call(POLICIES, r.client, "describe_policy", PolicyId=s["Id"], resource_id=s["Arn"])
        targets = r.pages(POLICIES, "list_targets_for_policy", "Targets", resource_id=s["Arn"], PolicyId=s["Id"])
        return OrgPolicy(**base, content=None if not desc else desc["Policy"].get("Content"),
                         targets=None if targets is None else sorted(
                             (PolicyTarget(target_id=t["TargetId"], type=t.get("Type", ""), name=t.get("Name", ""))
                              for t in targets), key=lambda t: t.target_id))

    return sorted(r.ctx.map(detail, summaries), key=lambda p: (p.type, p.name, p.id))


def _delegation(r: _Reader) -> tuple[list[str], list[DelegatedAdmin], str | None, bool]:
    access = r.pages(DELEGATION, "list_aws_service_access_for_organization", "EnabledServicePrincipals")
    if DELEGATION in r.denied:
        return [], [], None, False
    trusted = sorted(s["ServicePrincipal"] for s in access or [])
    raw_admins = r.pages(DELEGATION, "list_delegated_administrators", "DelegatedAdministrators") or []

    def services(a: dict[str, Any]) -> DelegatedAdmin:
        got = r.pages(DELEGATION, "list_delegated_services_for_account", "DelegatedServices", AccountId=a["Id"])
        return DelegatedAdmin(account_id=a["Id"], name=a.get("Name", ""),
                              services=None if got is None else sorted(s["ServicePrincipal"] for s in got))

    admins = sorted(r.ctx.map(services, raw_admins), key=lambda a: a.account_id)
    # Its own resource id: an unreadable delegation policy blinds only that part of org.delegated-admins.
    resp = r.ctx.call(DELEGATION, r.client, "describe_resource_policy", absent=("ResourcePolicyNotFoundException",),
                      resource_id=delegation_policy_arn(r.ctx.partition, r.ctx.account_id))
    if resp is NOT_FOUND or resp is None:
        return trusted, admins, None, resp is NOT_FOUND
    return trusted, admins, (resp.get("ResourcePolicy") or {}).get("Content"), True
