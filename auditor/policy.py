"""Reading IAM-style policy documents once, for every check that needs to (identity and resource policies).

Normalises the JSON shapes AWS allows (single statement or list, string or list values) and answers the
questions checks ask: does this statement allow an action, on which resources, for which principals, and
does a condition really restrict it.
"""
from __future__ import annotations

import fnmatch
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any


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
        out.append(Statement(effect=raw.get("Effect", ""), sid=str(raw.get("Sid", "")),
                             actions=tuple(_as_list(raw.get("Action"))),
                             not_actions=tuple(_as_list(raw.get("NotAction"))),
                             resources=tuple(_as_list(raw.get("Resource"))),
                             not_resources=tuple(_as_list(raw.get("NotResource"))),
                             principals=principals, principal_star=star, conditions=conds))
    return out


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def grants_full_admin(stmt: Statement) -> bool:
    """Allow of every action on every resource ('*:*'), including NotAction with nothing excluded in effect."""
    if not stmt.allows or not stmt.all_resources():
        return False
    if stmt.not_actions:
        return False  # NotAction always excludes something; not *full* admin
    return any(a == "*" or a == "*:*" for a in stmt.actions)
