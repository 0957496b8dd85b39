"""Reading IAM-style policy documents once, for every check that needs to (identity, resource and trust policies).

Normalises the JSON shapes AWS allows (single statement or list, string or list values) and answers the
questions checks ask: does this statement allow an action, on which resources, for which principals, does a
condition really restrict it. IAM/CloudTrail wildcards expand to the concrete actions botocore models, so
"iam:Put*" and "iam:Put*Policy" are compared by the actions they share, never by their text.
"""
from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def parse_document(doc: str | dict[str, Any] | None) -> dict[str, Any]:
    """A policy document from the API: a dict, JSON text, or URL-encoded JSON text (IAM returns that)."""
    if doc is None:
        return {}
    if isinstance(doc, dict):
        return doc
    text = doc if doc.lstrip().startswith("{") else urllib.parse.unquote(doc)
    return json.loads(text)


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    principals: dict[str, tuple[str, ...]] = field(default_factory=dict)  # {"AWS": (...), "Service": (...)}
    principal_star: bool = False
    conditions: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    sid: str = ""
    not_principals: dict[str, tuple[str, ...]] = field(default_factory=dict)  # NotPrincipal, same shape

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def matches_action(self, action: str) -> bool:
        """True when this statement's action set covers `action` (case-insensitive IAM wildcards)."""
        if self.not_actions:
            return not any(action_matches(p, action) for p in self.not_actions)
        return any(action_matches(p, action) for p in self.actions)

    def all_resources(self) -> bool:
        return "*" in self.resources and not self.not_resources

    def has_condition(self, key: str, operators: tuple[str, ...] | None = None) -> bool:
        key = key.lower()
        return any(k.lower() == key for op, kv in self.conditions.items()
                   if operators is None or op in operators for k in kv)

    def condition_values(self, key: str) -> list[str]:
        key = key.lower()
        return [v for kv in self.conditions.values() for k, vals in kv.items() if k.lower() == key for v in vals]

    def matches_resource(self, arn: str) -> bool:
        """True when `arn` is within Resource (or outside NotResource); policy variables match anything."""
        if self.not_resources:
            return not any(resource_matches(p, arn) for p in self.not_resources)
        return any(resource_matches(p, arn) for p in self.resources)

    def aws_principals(self) -> tuple[str, ...]:
        """The AWS principals named (account ids, root/user/role ARNs, '*'); '*' when Principal is "*"."""
        return ("*",) if self.principal_star and not self.principals else self.principals.get("AWS", ())


def statements(doc: str | dict[str, Any] | None) -> list[Statement]:
    parsed = parse_document(doc)
    out = []
    for raw in _as_list(parsed.get("Statement")):
        principal = raw.get("Principal")
        star = principal == "*"
        principals: dict[str, tuple[str, ...]] = {}
        if isinstance(principal, dict):
            for kind, vals in principal.items():
                principals[kind] = tuple(str(v) for v in _as_list(vals))
            star = star or "*" in principals.get("AWS", ())
        conds = {op: {k: tuple(str(v) for v in _as_list(vals)) for k, vals in kv.items()}
                 for op, kv in (raw.get("Condition") or {}).items()}
        not_principal = raw.get("NotPrincipal")
        nots = {"*": ("*",)} if not_principal == "*" else {
            kind: tuple(str(v) for v in _as_list(vals)) for kind, vals in (not_principal or {}).items()}
        out.append(Statement(effect=raw.get("Effect", ""), sid=str(raw.get("Sid", "")),
                             actions=tuple(_as_list(raw.get("Action"))),
                             not_actions=tuple(_as_list(raw.get("NotAction"))),
                             resources=tuple(_as_list(raw.get("Resource"))),
                             not_resources=tuple(_as_list(raw.get("NotResource"))),
                             principals=principals, principal_star=star, conditions=conds, not_principals=nots))
    return out


def labelled(doc: str | dict[str, Any] | None) -> list[tuple[str, Statement]]:
    """Statements with a stable label for findings: the Sid, or '#<index>' when it has none."""
    return [(s.sid or f"#{i}", s) for i, s in enumerate(statements(doc))]


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def grants_full_admin(stmt: Statement) -> bool:
    """Allow of every action on every resource ('*:*'), including NotAction with nothing excluded in effect."""
    if not stmt.allows or not stmt.all_resources():
        return False
    if stmt.not_actions:
        return False  # NotAction always excludes something; not *full* admin
    return any(a == "*" or a == "*:*" for a in stmt.actions)


# --- actions ---------------------------------------------------------------------------------------------

_WILD = ("*", "?")
# IAM prefixes whose actions are exactly botocore's operation names, plus permission-only actions.
_MODELLED = frozenset({"iam", "sts", "cloudtrail", "kms", "organizations"})
_PERMISSION_ONLY = {"iam": ("PassRole",), "sts": ("TagSession", "SetSourceIdentity", "SetContext")}


def split_action(pattern: str) -> tuple[str, str]:
    """('s3', 'Put*') for 's3:Put*'; ('*', '*') for '*'. Service prefixes are lower-cased."""
    prefix, _, name = pattern.partition(":") if ":" in pattern else ("*", ":", pattern)
    return prefix.lower(), name


def whole_service(pattern: str) -> bool:
    """'s3:*' (or 's3:**'): every action of the service. '*' alone is every service, not this."""
    prefix, name = split_action(pattern)
    return ":" in pattern and bool(name) and set(name) <= {"*"} and not any(w in prefix for w in _WILD)


def partial_wildcard(pattern: str) -> bool:
    """'s3:Put*', 'iam:*Policy', 'kms:?ecrypt': a wildcard within one service's action names."""
    prefix, name = split_action(pattern)
    return ":" in pattern and any(w in name for w in _WILD) and not set(name) <= {"*"} and "*" not in prefix \
        and "?" not in prefix


@cache
def known_actions(prefix: str) -> frozenset[str] | None:
    """Every action of an IAM service prefix ('iam:CreateUser'), or None when botocore does not model it."""
    if prefix.lower() not in _MODELLED:
        return None
    names = botocore.session.get_session().get_service_model(prefix.lower()).operation_names
    return frozenset(f"{prefix.lower()}:{n}" for n in (*names, *_PERMISSION_ONLY.get(prefix.lower(), ())))


def expand(pattern: str) -> frozenset[str] | None:
    """The concrete actions a pattern covers; None when not enumerable ('*', 's*:Get*', 'ec2:Get*')."""
    prefix, name = split_action(pattern)
    if not any(w in name for w in _WILD) and ":" in pattern:
        return frozenset({pattern})
    known = None if any(w in prefix for w in _WILD) else known_actions(prefix)
    return None if known is None else frozenset(a for a in known if action_matches(pattern, a))


def denied_outright(stmt: Statement, action: str) -> bool:
    """A Deny of `action` on every resource with no condition: nothing the Allows say can get past it."""
    return stmt.effect == "Deny" and not stmt.conditions and stmt.matches_action(action) \
        and "*" in stmt.resources and not stmt.not_resources


# --- resources -------------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{[^}]*\}")
_ALL_OF_TYPE = re.compile(r"^[\w.-]*[/:]?\*$")


def resource_matches(pattern: str, arn: str) -> bool:
    """IAM resource matching: case-sensitive, '*' and '?' wildcards, ${variables} matching anything."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in _VARIABLE.sub("*", pattern))
    return re.fullmatch(regex, arn, re.DOTALL) is not None


def unbounded_resource(resource: str) -> bool:
    """'*', or an ARN naming every resource of a type ('arn:aws:s3:::*', 'arn:aws:kms:*:*:key/*'); in S3 ARNs the
    part before '/*' is a bucket name, so 'arn:aws:s3:::logs/*' is bounded."""
    parts = resource.split(":", 5)
    return resource == "*" or (len(parts) == 6 and parts[0] == "arn" and (
        parts[5] == "*" or (parts[2] != "s3" and bool(_ALL_OF_TYPE.match(parts[5])))))


def on_all_resources(stmt: Statement) -> bool:
    """Resource '*' (or every resource of a service), or NotResource: everything but the listed few."""
    return bool(stmt.not_resources) or any(unbounded_resource(r) for r in stmt.resources)


def service_wildcards(stmt: Statement, sensitive: Iterable[str] = ()) -> list[str]:
    """The Action patterns of an Allow on all resources that grant a whole service ('s3:*'), or a verb wildcard
    ('iam:Put*') of a `sensitive` service. NotAction grants every service but the listed actions: reported as
    'NotAction ...'. '*' alone is full admin, judged elsewhere."""
    if not stmt.allows or not on_all_resources(stmt):
        return []
    if stmt.not_actions:
        return [f"NotAction {', '.join(stmt.not_actions)}"]
    risky = {s.lower() for s in sensitive}
    return [a for a in stmt.actions if whole_service(a) or (partial_wildcard(a) and split_action(a)[0] in risky)]


# --- conditions ------------------------------------------------------------------------------------------

_POSITIVE = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"})
MFA_PRESENT = "aws:multifactorauthpresent"
MFA_AGE = "aws:multifactorauthage"


def _operator(op: str) -> tuple[str, str, bool]:
    """('ForAnyValue', 'StringLike', True) for 'ForAnyValue:StringLikeIfExists'."""
    qualifier, _, base = op.rpartition(":")
    return qualifier, base.removesuffix("IfExists"), base.endswith("IfExists")


def restricting_conditions(stmt: Statement, keys: Iterable[str]) -> list[str]:
    """Conditions that really narrow the caller to named values of `keys`, as 'Operator:key' labels. Decorative
    ones are left out: '...IfExists' (true when the key is absent), 'ForAllValues:' (true for an empty set),
    negated operators, and empty or wildcard values ('*', 'arn:aws:iam::*:root')."""
    wanted = {k.lower() for k in keys}
    found = []
    for op, kv in stmt.conditions.items():
        qualifier, base, if_exists = _operator(op)
        if if_exists or qualifier.lower() == "forallvalues" or base not in _POSITIVE:
            continue
        for key, values in kv.items():
            if key.lower() in wanted and values and all(_concrete(v) for v in values):
                found.append(f"{op}:{key}")
    return sorted(found)


def _concrete(value: str) -> bool:
    parts = value.strip().split(":")
    return bool(parts[0]) and not parts[0].startswith(_WILD) \
        and not (len(parts) > 4 and parts[0] == "arn" and any(w in parts[4] for w in _WILD))


def mfa_requirement(stmt: Statement) -> str | None:
    """How an Allow demands MFA: 'Bool' (aws:MultiFactorAuthPresent true), 'MultiFactorAuthAge' (a maximum age),
    'BoolIfExists' (true only when the key exists: callers using long-term access keys pass without MFA), or None."""
    found = None
    for op, kv in stmt.conditions.items():
        qualifier, base, if_exists = _operator(op)
        for key, values in kv.items():
            vals = [v.strip().lower() for v in values]
            if qualifier or not vals:
                continue
            if key.lower() == MFA_PRESENT and base == "Bool" and set(vals) == {"true"}:
                if not if_exists:
                    return "Bool"
                found = "BoolIfExists"
            elif key.lower() == MFA_AGE and base in ("NumericLessThan", "NumericLessThanEquals") and not if_exists \
                    and all(v.isdigit() for v in vals):
                return "MultiFactorAuthAge"
    return found


def denies_without_mfa(stmt: Statement, action: str) -> bool:
    """A Deny of `action` whenever a request carries no MFA (BoolIfExists ...=false or Null ...=true), alone."""
    if stmt.effect != "Deny" or not stmt.matches_action(action) or len(stmt.conditions) != 1:
        return False
    [(op, kv)] = stmt.conditions.items()
    vals = [v.lower() for k, vs in kv.items() if k.lower() == MFA_PRESENT for v in vs]
    return len(kv) == 1 and ((op == "BoolIfExists" and vals == ["false"]) or (op == "Null" and vals == ["true"]))


# --- principals ------------------------------------------------------------------------------------------

_ACCOUNT = re.compile(r"^\d{12}$")


def principal_account(principal: str) -> str | None:
    """The account an AWS principal belongs to: '123456789012' for an id or an ARN, '*' for '*' or an ARN whose
    account is a wildcard, None for what names no account (a deleted principal's unique id 'AROA...')."""
    if principal == "*" or _ACCOUNT.match(principal):
        return principal
    parts = principal.split(":")
    if len(parts) > 5 and parts[0] == "arn":
        return "*" if any(w in parts[4] for w in _WILD) else parts[4] or None
    return None


def principal_kinds(stmt: Statement) -> set[str]:
    """Which kinds of principal a statement names: 'AWS', 'Service', 'Federated', 'CanonicalUser'."""
    kinds = {k for k, v in stmt.principals.items() if v}
    return kinds | {"AWS"} if stmt.principal_star else kinds
