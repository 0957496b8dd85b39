"""Reasoning about service control policies: which guardrails are in effect for each member account.

The SCPs in effect for an account are those attached to the account itself, to every OU on its parent chain
and to the root. A Deny anywhere on that chain applies to the account, so a guardrail holds for the account
when any one statement of any one of those policies has the guardrail's shape. The management account is
never restricted by SCPs and is left out. Statements are read with auditor.policy, never by string search.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from auditor.collectors.organizations import POLICIES, SCP, TREE, OrgAccount, OrganizationsSection, OrgPolicy
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy import Statement, action_matches, statements

# Operators that carve an exception out of a Deny ("deny, unless the caller is the break-glass role").
_NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike", "StringNotEqualsIgnoreCase")
_EXCEPTION_KEYS = ("aws:principalarn", "aws:principaltag/", "aws:principalaccount", "aws:principalorgid",
                   "aws:principaltype", "aws:userid", "aws:principalisawsservice", "aws:principalservicename",
                   "aws:sourceidentity")
_MATCHING = ("StringEquals", "StringLike", "ArnEquals", "ArnLike")

StatementTest = Callable[[Statement, OrgAccount], bool]
Test = Callable[[OrgPolicy, OrgAccount], bool]  # does this policy give this account the guardrail


def _base(op: str) -> str:
    op = op.split(":", 1)[-1]  # ForAnyValue:StringLike
    return op[:-len("IfExists")] if op.endswith("IfExists") else op


# --- one statement ---------------------------------------------------------------------------------

def all_resources(stmt: Statement) -> bool:
    return (not stmt.resources or "*" in stmt.resources) and not stmt.not_resources


def broad(stmt: Statement) -> bool:
    """Covers every action, or every action but a listed few (NotAction)."""
    return bool(stmt.not_actions) or any(a in ("*", "*:*") for a in stmt.actions)


def exceptions_only(stmt: Statement) -> bool:
    """No condition, or only conditions that exempt named principals (which the rows allow)."""
    return all(_base(op) in _NEGATED and key.lower().startswith(_EXCEPTION_KEYS)
               for op, kv in stmt.conditions.items() for key in kv)


def denies(stmt: Statement, action: str) -> bool:
    """An effective Deny of `action` on every resource (wildcards and NotAction included)."""
    return stmt.effect == "Deny" and stmt.matches_action(action) and all_resources(stmt) and exceptions_only(stmt)


def denies_when(stmt: Statement, actions: Iterable[str], keys: Iterable[str]) -> bool:
    """A Deny of any of `actions` that depends on one of the condition `keys` (e.g. ec2:Encrypted)."""
    return stmt.effect == "Deny" and any(stmt.matches_action(a) for a in actions) \
        and any(stmt.has_condition(k) for k in keys)


def denies_principal(stmt: Statement, principal_arn: str) -> bool:
    """A broad Deny whose aws:PrincipalArn condition matches `principal_arn` (e.g. the root user)."""
    if stmt.effect != "Deny" or not broad(stmt) or not all_resources(stmt):
        return False
    values = [v for op, kv in stmt.conditions.items() if _base(op) in _MATCHING
              for k, vals in kv.items() if k.lower() == "aws:principalarn" for v in vals]
    return any(action_matches(v, principal_arn) for v in values)


def allowed_regions(stmt: Statement) -> list[str] | None:
    """The regions a region-restriction Deny leaves open, or None when the statement is not one."""
    if stmt.effect != "Deny" or not broad(stmt) or not all_resources(stmt):
        return None
    regions = [v for op, kv in stmt.conditions.items() if _base(op) in ("StringNotEquals", "StringNotLike")
               for k, vals in kv.items() if k.lower() == "aws:requestedregion" for v in vals]
    return sorted(set(regions)) or None


@lru_cache(maxsize=512)
def _parsed(content: str) -> tuple[Statement, ...]:
    try:
        return tuple(statements(content))
    except (ValueError, TypeError, AttributeError):
        return ()  # not a policy document; it carries no guardrail


def policy_statements(content: str | dict[str, Any] | None) -> tuple[Statement, ...]:
    if content is None:
        return ()
    return _parsed(content if isinstance(content, str) else json.dumps(content, sort_keys=True))


# --- the organization ------------------------------------------------------------------------------

def scps_enabled(org: OrganizationsSection) -> bool:
    return bool(org.roots) and all(SCP in r.enabled_policy_types for r in org.roots)


def member_accounts(org: OrganizationsSection) -> list[OrgAccount]:
    mgmt = org.organization.management_account_id if org.organization else ""
    return [a for a in org.accounts if a.id != mgmt and a.status in ("ACTIVE", "")]


def label(account: OrgAccount) -> str:
    return f"{account.id} ({account.name})" if account.name else account.id


def ancestry(org: OrganizationsSection, account: OrgAccount) -> list[str]:
    """Target ids whose policies reach the account: itself, each OU above it, and the root."""
    parent_of = {u.id: u.parent_id for u in org.units}
    chain = [account.id]
    node = account.parent_id
    while node and node not in chain:
        chain.append(node)
        node = parent_of.get(node, "")
    return chain


def in_effect(org: OrganizationsSection, account: OrgAccount, policy_type: str = SCP) -> list[OrgPolicy]:
    ids = set(ancestry(org, account))
    return [p for p in org.policies if p.type == policy_type and p.targets
            and any(t.target_id in ids for t in p.targets)]


def unreadable(org: OrganizationsSection, policy_type: str = SCP) -> list[OrgPolicy]:
    """Customer policies whose content or targets could not be read (gaps name each one)."""
    return [p for p in org.policies if p.type == policy_type and not p.aws_managed
            and (p.content is None or p.targets is None)]


@dataclass(frozen=True)
class Evaluation:
    unmet: dict[str, list[str]]  # member account label -> names of the guardrails it lacks
    satisfied_by: dict[str, list[str]]  # guardrail name -> SCPs that provide it for some account

    def accounts_missing(self, guardrail: str) -> list[str]:
        return [acct for acct, missing in self.unmet.items() if guardrail in missing]


def evaluate(org: OrganizationsSection, guardrails: dict[str, Test]) -> Evaluation:
    """For every member account, which named guardrails no SCP in effect provides."""
    unmet: dict[str, list[str]] = {}
    by: dict[str, set[str]] = {name: set() for name in guardrails}
    for account in member_accounts(org):
        policies = in_effect(org, account)
        missing = []
        for name, test in guardrails.items():
            hits = {p.name for p in policies if test(p, account)}
            by[name] |= hits
            if not hits:
                missing.append(name)
        if missing:
            unmet[label(account)] = missing
    return Evaluation(unmet=dict(sorted(unmet.items())), satisfied_by={k: sorted(v) for k, v in by.items()})


def statement_test(test: StatementTest) -> Test:
    """A guardrail that one statement of the policy provides."""
    return lambda p, acct: any(test(s, acct) for s in policy_statements(p.content))


def action_guardrails(actions: Iterable[str]) -> dict[str, Test]:
    return {a: statement_test(lambda s, _acct, a=a: denies(s, a)) for a in actions}


# --- single account: the same region restriction through IAM --------------------------------------

def iam_region_restrictions(iam: Any) -> tuple[dict[str, list[str]], list[str]]:
    """IAM users and roles (service-linked roles aside) with the regions their policies leave open, and
    those whose policies (own, attached, or through a group) carry no region-restriction Deny."""
    documents = {p.arn: p.document for p in iam.policies or []}
    groups = {g.name: g for g in iam.groups or []}
    restricted: dict[str, list[str]] = {}
    unrestricted: list[str] = []
    principals = [("user", u) for u in iam.users or []] + \
        [("role", r) for r in iam.roles or [] if not r.path.startswith("/aws-service-role/")]
    for kind, principal in principals:
        sources = [principal, *(groups[g] for g in getattr(principal, "groups", []) if g in groups)]
        docs = [d for src in sources for d in ([i.document for i in src.inline_policies]
                                               + [documents.get(a.arn) for a in src.attached_policies])]
        regions = sorted({r for d in docs for s in policy_statements(d) for r in allowed_regions(s) or []})
        if regions:
            restricted[f"{kind} {principal.name}"] = regions
        else:
            unrestricted.append(f"{kind} {principal.name}")
    return restricted, sorted(unrestricted)


# --- findings shared by the organization checks ----------------------------------------------------

def blocked(inv: Inventory, *datasets: str, subkey: str = "") -> list[Finding] | None:
    """What to report instead of a verdict (outside an org, or refused to a member account), else None.

    An empty list means "unreadable": the runner reports the gap as ERROR.
    """
    org = inv.organizations
    if org.in_organization is None:
        return []
    if not org.in_organization or org.organization is None:
        return [Finding.with_status(Status.NOT_APPLICABLE, inv.account(),
                                    f"account {inv.account_id} is not in an AWS Organization", subkey=subkey)]
    refused = [d for d in datasets if d in org.denied]
    if refused:
        o = org.organization
        return [Finding.with_status(
            Status.NOT_APPLICABLE, o, f"account {inv.account_id} is a member of {o.id} and may not read "
            f"{', '.join(refused)}: scan from the management account {o.management_account_id} or a delegated "
            "administrator", evidence={"refused": {d: org.denied[d] for d in refused},
                                       "management_account_id": o.management_account_id}, subkey=subkey)]
    return None


def enabled_types(org: OrganizationsSection) -> list[str]:
    return sorted({t for r in org.roots for t in r.enabled_policy_types})


def guardrail(inv: Inventory, guardrails: dict[str, Test], what: str,
              evidence: dict[str, Any] | None = None, subkey: str = "") -> Iterator[Finding]:
    """One organization-level verdict: does an SCP in effect give every member account each guardrail."""
    early = blocked(inv, TREE, POLICIES, subkey=subkey)
    if early is not None:
        yield from early
        return
    org = inv.organizations
    o = org.organization
    members = member_accounts(org)
    if not members:
        yield Finding.with_status(Status.NOT_APPLICABLE, o, f"{o.id} has no active member accounts (SCPs never "
                                  "restrict the management account)", subkey=subkey)
        return
    if not scps_enabled(org):
        yield Finding.failed(o, f"SCPs are not enabled on the root of {o.id}, so no SCP {what}",
                             evidence={"enabled_policy_types": enabled_types(org)}, subkey=subkey)
        return
    result = evaluate(org, guardrails)
    if result.unmet and unreadable(org):
        return  # an unreadable SCP might provide what is missing: its gap is reported as ERROR
    ev = {"member_accounts": len(members), "accounts_missing": result.unmet, "provided_by": result.satisfied_by,
          **(evidence or {})}
    if result.unmet:
        yield Finding.failed(o, f"no SCP {what} for {len(result.unmet)} of {len(members)} member account(s): "
                             f"{', '.join(result.unmet)}", evidence=ev, subkey=subkey)
    else:
        warning = f"; warning: {ev['warning']}" if ev.get("warning") else ""
        yield Finding.passed(o, f"an SCP {what} for all {len(members)} member account(s){warning}", evidence=ev,
                             subkey=subkey)


def tag_policy_keys(content: str | None) -> set[str]:
    """Tag keys a tag policy governs: its entries under "tags" and their tag_key @@assign values."""
    try:
        tags = json.loads(content or "{}").get("tags") or {}
    except (ValueError, AttributeError):
        return set()
    keys = {k.lower() for k in tags}
    for entry in tags.values():
        assign = (entry.get("tag_key") or {}).get("@@assign") if isinstance(entry, dict) else None
        if isinstance(assign, str):
            keys.add(assign.lower())
    return keys


def iam_region_fallback(inv: Inventory) -> Finding:
    """Single-account fallback: the same region-restriction Deny carried by every IAM user and role."""
    restricted, unrestricted = iam_region_restrictions(inv.iam)
    ev = {"fallback": "not in an organization: IAM policies on every user and role", "restricted": restricted,
          "unrestricted": unrestricted}
    if restricted and not unrestricted:
        return Finding.passed(inv.account(), "not in an organization; every IAM user and role carries a "
                              "region-restriction Deny", evidence=ev)
    who = ", ".join(unrestricted) if unrestricted else "no IAM user or role exists to carry one"
    return Finding.failed(inv.account(), f"not in an organization and no region restriction on: {who}", evidence=ev)
