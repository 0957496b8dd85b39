"""What an IAM principal's identity policies say, for checks that judge a user (or group, or role) as a whole.

Collects the statements that apply to a principal (its inline and attached policies, and for a user those of
its groups), expands IAM action wildcards for the services botocore models, and answers the questions the
identity checks ask: which allowed actions fall outside a permitted set, is there a Deny-without-MFA guard,
is an Allow usable only with MFA. Built on auditor.policy; nothing here calls AWS.
"""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import botocore.session

from auditor.collectors.iam import IamGroup, IamPrincipal, IamUser, ManagedPolicy
from auditor.policy import Statement, statements

# Actions IAM knows that have no API operation of the same name (so botocore does not list them).
_PERMISSION_ONLY = {"sts": ("TagSession", "SetSourceIdentity", "SetContext"), "iam": ("PassRole",)}
# IAM service prefix -> botocore service name, for the services whose actions we can enumerate.
_MODELLED = {"iam": "iam", "sts": "sts"}

MFA_KEY = "aws:multifactorauthpresent"
MFA_AGE_KEY = "aws:multifactorauthage"

# What a user needs to set up MFA and its own credentials before it has MFA (AWS's force-MFA examples).
MFA_SELF_SERVICE = frozenset(a.lower() for a in (
    "iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice", "iam:EnableMFADevice", "iam:ResyncMFADevice",
    "iam:GetMFADevice", "iam:ListMFADevices", "iam:ListVirtualMFADevices", "iam:GetUser", "iam:ChangePassword",
    "iam:GetAccountPasswordPolicy", "iam:ListAccountAliases", "iam:ListUsers", "iam:ListSSHPublicKeys",
    "iam:ListAccessKeys", "iam:ListServiceSpecificCredentials", "iam:GetAccountSummary", "sts:GetSessionToken"))

# Managing one's own credentials, allowed only on arn:...:user/${aws:username} or mfa/${aws:username}.
SELF_SERVICE_IAM = frozenset(a.lower() for a in (
    "iam:ChangePassword", "iam:GetUser", "iam:GetLoginProfile", "iam:UpdateLoginProfile",
    "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey",
    "iam:GetAccessKeyLastUsed", "iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice",
    "iam:EnableMFADevice", "iam:DeactivateMFADevice", "iam:ResyncMFADevice", "iam:ListMFADevices",
    "iam:GetMFADevice", "iam:ListMFADeviceTags", "iam:DeleteSSHPublicKey", "iam:GetSSHPublicKey",
    "iam:ListSSHPublicKeys", "iam:UpdateSSHPublicKey", "iam:UploadSSHPublicKey",
    "iam:CreateServiceSpecificCredential", "iam:DeleteServiceSpecificCredential",
    "iam:ListServiceSpecificCredentials", "iam:ResetServiceSpecificCredential",
    "iam:UpdateServiceSpecificCredential", "iam:DeleteSigningCertificate", "iam:ListSigningCertificates",
    "iam:UpdateSigningCertificate", "iam:UploadSigningCertificate", "iam:ListUserTags"))
# Read-only account facts the self-service examples allow on "*" (they name no user).
ACCOUNT_INFO = frozenset({"iam:getaccountpasswordpolicy", "iam:listvirtualmfadevices"})
# Assuming roles; GetCallerIdentity needs no permission at all, so allowing it changes nothing.
ROLE_ONLY = frozenset({"sts:assumerole", "sts:getsessiontoken", "sts:tagsession", "sts:getcalleridentity"})

_SELF_RESOURCE = re.compile(r"^arn:aws[\w-]*:iam::(\*|\d{12}):(user|mfa)/(.*/)?\$\{aws:username\}$", re.I)


@dataclass(frozen=True)
class Sourced:
    """One statement and where it came from ("inline policy x", "group admins: managed policy Y")."""

    statement: Statement
    source: str


@dataclass(frozen=True)
class EffectivePolicies:
    statements: tuple[Sourced, ...]
    unreadable: tuple[str, ...]  # policies or groups whose documents the inventory lacks: verdicts are unsafe

    def allows(self) -> list[Sourced]:
        return [s for s in self.statements if s.statement.allows]

    def denies(self) -> list[Sourced]:
        return [s for s in self.statements if s.statement.effect == "Deny"]


def _own(principal: IamPrincipal, managed: dict[str, ManagedPolicy], prefix: str) -> tuple[list[Sourced], list[str]]:
    found = [Sourced(st, f"{prefix}inline policy {p.name}") for p in principal.inline_policies
             for st in statements(p.document)]
    missing = []
    for att in principal.attached_policies:
        policy = managed.get(att.arn)
        if policy is None or policy.document is None:
            missing.append(f"{prefix}managed policy {att.name}")
            continue
        found += [Sourced(st, f"{prefix}managed policy {att.name}") for st in statements(policy.document)]
    return found, missing


def effective_policies(principal: IamPrincipal, groups: Iterable[IamGroup],
                       policies: Iterable[ManagedPolicy]) -> EffectivePolicies:
    """Every identity-policy statement of `principal`: inline, attached, and (users) through each group."""
    managed = {p.arn: p for p in policies}
    found, missing = _own(principal, managed, "")
    if isinstance(principal, IamUser):
        by_name = {g.name: g for g in groups}
        for name in principal.groups:
            group = by_name.get(name)
            if group is None:
                missing.append(f"group {name}")
                continue
            more, lost = _own(group, managed, f"group {name}: ")
            found += more
            missing += lost
    return EffectivePolicies(tuple(found), tuple(missing))


@cache
def service_actions(prefix: str) -> frozenset[str] | None:
    """Every action of an IAM service prefix ('iam:CreateUser', lower-case), or None when not enumerable."""
    service = _MODELLED.get(prefix.lower())
    if service is None:
        return None
    names = botocore.session.get_session().get_service_model(service).operation_names
    return frozenset(f"{prefix}:{n}".lower() for n in (*names, *_PERMISSION_ONLY.get(prefix.lower(), ())))


def expand_action(pattern: str) -> frozenset[str] | None:
    """The actions an Action pattern matches (lower-case), or None when that cannot be known (other services,
    wildcards in the service part). An exact name expands to itself."""
    pattern = pattern.lower()
    if pattern == "*" or ":" not in pattern:
        return None
    prefix, name = pattern.split(":", 1)
    if not any(c in name for c in "*?"):
        return frozenset({pattern})
    if any(c in prefix for c in "*?"):
        return None
    known = service_actions(prefix)
    return None if known is None else frozenset(a for a in known if fnmatch.fnmatchcase(a, pattern))


def actions_outside(stmt: Statement, permitted: Callable[[str, Statement], bool]) -> list[str]:
    """The Action patterns of `stmt` that may cover an action `permitted` rejects (NotAction: all but the list)."""
    if stmt.not_actions:
        return [f"NotAction {', '.join(stmt.not_actions)}"]
    out = []
    for pattern in stmt.actions:
        expanded = expand_action(pattern)
        # A wildcard that matches nothing we know may match an action newer than botocore's model.
        if not expanded or not all(permitted(a, stmt) for a in expanded):
            out.append(pattern)
    return out


def self_scoped(stmt: Statement) -> bool:
    """Every resource is the caller's own user or MFA device (arn:aws:iam::*:user/${aws:username})."""
    return bool(stmt.resources) and not stmt.not_resources \
        and all(_SELF_RESOURCE.match(r) for r in stmt.resources)


def role_or_self_service(action: str, stmt: Statement) -> bool:
    """Assume roles / get an MFA session, manage one's own credentials, read the password policy."""
    action = action.lower()
    return action in ROLE_ONLY or action in ACCOUNT_INFO or (action in SELF_SERVICE_IAM and self_scoped(stmt))


def _values(stmt: Statement, operator: str, key: str) -> list[str] | None:
    for op, kv in stmt.conditions.items():
        if op == operator:
            for k, vals in kv.items():
                if k.lower() == key:
                    return [v.lower() for v in vals]
    return None


def _only_condition(stmt: Statement, operator: str, key: str, value: str) -> bool:
    keys = [(op, k.lower()) for op, kv in stmt.conditions.items() for k in kv]
    return keys == [(operator, key)] and _values(stmt, operator, key) == [value]


def denies_without_mfa(stmt: Statement) -> bool:
    """A Deny on everything (or on all but MFA self-service) whenever the request carries no MFA.

    BoolIfExists ...=false (or Null ...=true) also matches long-term access keys, where the key is absent;
    a plain Bool ...=false does not, so it leaves the CLI open. Any extra condition narrows the guard: not counted.
    """
    if stmt.effect != "Deny" or stmt.not_resources or "*" not in stmt.resources:
        return False
    if stmt.not_actions:
        for pattern in stmt.not_actions:
            expanded = expand_action(pattern)
            if not expanded or not expanded <= MFA_SELF_SERVICE:
                return False
    elif "*" not in stmt.actions:
        return False
    return _only_condition(stmt, "BoolIfExists", MFA_KEY, "false") or _only_condition(stmt, "Null", MFA_KEY, "true")


def requires_mfa(stmt: Statement) -> bool:
    """An Allow that applies only to MFA-authenticated requests (Bool ...=true, or a MultiFactorAuthAge limit).

    BoolIfExists ...=true is decorative for access keys: the key is absent there, so the Allow applies.
    """
    if _values(stmt, "Bool", MFA_KEY) == ["true"]:
        return True
    return any(_values(stmt, op, MFA_AGE_KEY) for op in ("NumericLessThan", "NumericLessThanEquals"))
