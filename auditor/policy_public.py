"""Is a resource policy (or an S3 ACL) open to the world? Pure functions shared by every "not public" check.

A statement is public when it allows a public principal ('*', {"AWS": "*"}, an account wildcard such as
arn:aws:iam::*:root, or any NotPrincipal) and none of its conditions really restricts the caller. A condition
restricts only when it tests a caller-identifying key (source VPC/endpoint/IP, organization, account, ARN) with a
positive operator and concrete values: `...IfExists` (true when the key is absent), `ForAllValues:` (true for an
empty set), negated operators and wildcard values let the world in.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.policy import Statement, parse_document, statements

if TYPE_CHECKING:
    from auditor.collectors.s3 import PublicAccessBlock, S3Bucket

PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}

RESTRICTING_KEYS = frozenset(k.lower() for k in (
    "aws:SourceVpce", "aws:SourceVpc", "aws:SourceIp", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:PrincipalAccount", "aws:PrincipalArn", "aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner",
    "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:userid",
))
_ARN_KEYS = frozenset({"aws:sourcearn", "aws:principalarn"})
_POSITIVE = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "IpAddress"})
_WILDCARDS = ("*", "?")
# Access-point delegation (Allow '*' only through this account's access points) restricts like aws:SourceAccount.
S3_RESTRICTING_KEYS = ("s3:DataAccessPointAccount", "s3:DataAccessPointArn")


def public_grantee(uri: str | None) -> str | None:
    """'AllUsers' / 'AuthenticatedUsers' for an ACL group grantee that opens a bucket to the world, else None."""
    return PUBLIC_GRANTEES.get(uri or "")


def public_principal(stmt: Statement) -> bool:
    """Principal '*', {"AWS": "*"} or an AWS principal whose account is a wildcard (arn:aws:iam::*:root)."""
    if stmt.principal_star:
        return True
    for arn in stmt.principals.get("AWS", ()):
        parts = arn.split(":")
        if len(parts) > 4 and parts[0] == "arn" and any(w in parts[4] for w in _WILDCARDS):
            return True
    return False


def restricting_conditions(stmt: Statement, extra_keys: tuple[str, ...] = ()) -> list[str]:
    """The conditions of `stmt` that really narrow who may call, as 'Operator:key' labels (empty: none do)."""
    keys = RESTRICTING_KEYS | {k.lower() for k in extra_keys}
    found = []
    for op, kv in stmt.conditions.items():
        prefix, _, base = op.rpartition(":")
        if base.endswith("IfExists") or prefix.lower() == "forallvalues" or base not in _POSITIVE:
            continue
        for key, values in kv.items():
            if key.lower() in keys and values and all(_concrete(key.lower(), v) for v in values):
                found.append(f"{op}:{key}")
    return sorted(found)


def is_public(stmt: Statement, extra_keys: tuple[str, ...] = (), not_principal: bool = False) -> bool:
    """An Allow to a public principal (or any NotPrincipal) with no restricting condition."""
    return stmt.allows and (not_principal or public_principal(stmt)) and not restricting_conditions(stmt, extra_keys)


def public_statements(doc: str | dict[str, Any] | None, extra_keys: tuple[str, ...] = ()) -> list[Statement]:
    """The statements of a policy document that open the resource to the world.

    auditor.policy.Statement does not carry NotPrincipal, so the raw statements are read alongside it:
    Allow with NotPrincipal grants everyone except the listed principals.
    """
    parsed = parse_document(doc)
    raw = parsed.get("Statement")
    raws = raw if isinstance(raw, list) else [raw] if raw else []
    return [s for s, r in zip(statements(parsed), raws, strict=True)
            if is_public(s, extra_keys, not_principal=isinstance(r, dict) and "NotPrincipal" in r)]


def _concrete(key: str, value: str) -> bool:
    value = value.strip()
    if not value or value in _WILDCARDS:
        return False
    if key == "aws:sourceip":
        try:
            return ipaddress.ip_network(value, strict=False).prefixlen > 0
        except ValueError:
            return False
    if key in _ARN_KEYS and value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) < 6:
            return False
        account, rest = parts[4], parts[5]
        if account:
            return not any(w in account for w in _WILDCARDS)
        return bool(rest) and not rest.startswith(_WILDCARDS)  # S3-style ARN without an account field
    return not value.startswith(_WILDCARDS)


# --- S3 buckets: ACL + policy, neutralised by Block Public Access ---------------------------------------------

@dataclass(frozen=True)
class Exposure:
    """What makes a bucket public, and whether Block Public Access neutralises it (None: BPA unreadable).

    IgnorePublicAcls (bucket or account) neutralises ACL grants; RestrictPublicBuckets neutralises a public
    policy. BlockPublicAcls / BlockPublicPolicy only refuse new grants, so they neutralise nothing that exists.
    """

    acl_grants: list[str] = field(default_factory=list)  # "AllUsers:READ"
    statements: list[str] = field(default_factory=list)  # Sids (or "#index") of public policy statements
    policy_status_public: bool | None = None  # GetBucketPolicyStatus.IsPublic, where AWS answered
    acl_ignored: bool | None = False
    policy_restricted: bool | None = False

    @property
    def policy_public(self) -> bool:
        return bool(self.statements) or self.policy_status_public is True

    @property
    def public(self) -> bool | None:
        acl = None if self.acl_ignored is None else bool(self.acl_grants) and not self.acl_ignored
        policy = None if self.policy_restricted is None else self.policy_public and not self.policy_restricted
        if acl is True or policy is True:
            return True
        return None if acl is None or policy is None else False

    def neutralised(self) -> list[str]:
        return [flag for flag, on in (("IgnorePublicAcls", bool(self.acl_grants) and self.acl_ignored is True),
                                      ("RestrictPublicBuckets", self.policy_public and self.policy_restricted is True))
                if on]

    def describe(self) -> str:
        parts = []
        if self.acl_grants and self.acl_ignored is not True:
            parts.append(f"ACL grants {', '.join(self.acl_grants)}")
        if self.statements and self.policy_restricted is not True:
            parts.append(f"policy statement {', '.join(self.statements)} allows Principal '*' without a "
                         "restricting condition")
        elif self.policy_status_public and self.policy_restricted is not True:
            parts.append("AWS reports the bucket policy as public (GetBucketPolicyStatus)")
        return "; ".join(parts)

    def evidence(self) -> dict[str, Any]:
        def known(flag: bool | None) -> bool | str:
            return "unknown" if flag is None else flag
        return {"acl_public_grants": self.acl_grants, "public_statements": self.statements,
                "policy_status_is_public": self.policy_status_public,
                "ignore_public_acls": known(self.acl_ignored),
                "restrict_public_buckets": known(self.policy_restricted)}


def _either(flag: str, own: PublicAccessBlock | None, account: PublicAccessBlock | None) -> bool | None:
    if any(p is not None and p.flags.get(flag, False) for p in (own, account)):
        return True
    return None if own is None or account is None else False


def bucket_exposure(bucket: S3Bucket, account: PublicAccessBlock | None) -> Exposure | None:
    """None when the ACL or policy could not be read (or the policy is not JSON): public-ness is unknown."""
    if bucket.acl is None or bucket.policy is None:
        return None
    grants = sorted({f"{name}:{g.permission}" for g in bucket.acl.grants if (name := public_grantee(g.grantee))})
    labels: list[str] = []
    if bucket.policy.exists:
        try:
            stmts = statements(bucket.policy.document)
            labels = [s.sid or f"#{stmts.index(s)}" for s in public_statements(bucket.policy.document,
                                                                              S3_RESTRICTING_KEYS)]
        except ValueError:
            return None
    own = bucket.public_access_block
    policy_open = bool(labels) or bucket.policy_is_public is True
    return Exposure(acl_grants=grants, statements=labels, policy_status_public=bucket.policy_is_public,
                    acl_ignored=_either("IgnorePublicAcls", own, account) if grants else False,
                    policy_restricted=_either("RestrictPublicBuckets", own, account) if policy_open else False)
