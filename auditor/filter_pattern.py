"""CloudWatch Logs filter patterns and EventBridge event patterns, judged by the events they match.

auditor/reference_events.py expands a monitoring item's reference pattern (via `dnf`) into sample CloudTrail
records; a candidate covers the item when `matches` / `eb_matches` accept every sample. Where the CloudWatch
Logs documentation is silent we read strictly: `&&` binds tighter than `||`, and a comparison on a field the
event lacks is false (also for `!=`).
"""
from __future__ import annotations

import fnmatch
import ipaddress
import json
import operator
import re
from dataclasses import dataclass
from itertools import product
from typing import Any


class PatternError(ValueError):
    """A pattern this module cannot read; it never counts as coverage."""


@dataclass(frozen=True)
class Cmp:
    path: tuple[str | int, ...]
    op: str  # = != < > <= >= EXISTS NOT_EXISTS IS_NULL IS_TRUE IS_FALSE
    value: Any = None
    regex: bool = False


@dataclass(frozen=True)
class Bool:
    op: str  # && or ||
    items: tuple[Pattern, ...]


@dataclass(frozen=True)
class Terms:  # text pattern: every term, one of any_terms (if given), none of none_terms
    terms: tuple[str, ...] = ()
    any_terms: tuple[str, ...] = ()
    none_terms: tuple[str, ...] = ()


Pattern = Cmp | Bool | Terms
_TOKEN = re.compile(r'\s*(\(|\)|&&|\|\||"(?:[^"\\]|\\.)*"|%(?:[^%\\]|\\.)*%|!=|<=|>=|=|<|>|[^\s()=!<>&|"]+)')
_KEYWORDS = {("IS", "NULL"): "IS_NULL", ("NOT", "EXISTS"): "NOT_EXISTS", ("IS", "TRUE"): "IS_TRUE",
             ("IS", "FALSE"): "IS_FALSE"}


def parse(text: str) -> Pattern:
    s = (text or "").strip()
    if s.startswith("{"):
        if not s.endswith("}"):
            raise PatternError("unbalanced braces")
        return _JsonParser(s[1:-1]).parse()
    if s.startswith("["):
        raise PatternError("space-delimited patterns do not apply to CloudTrail JSON")
    words = [w[1:-1] if len(w) > 1 and w[0] == w[-1] == '"' else w for w in re.findall(r'[?-]?"[^"]*"|\S+', s)]
    return Terms(terms=tuple(w for w in words if w[0] not in "?-"),
                 any_terms=tuple(w[1:].strip('"') for w in words if w[0] == "?"),
                 none_terms=tuple(w[1:].strip('"') for w in words if w[0] == "-"))


class _JsonParser:
    def __init__(self, body: str) -> None:
        self.src, self.pos = body, 0

    def parse(self) -> Pattern:
        node = self._or()
        if self.src[self.pos:].strip():
            raise PatternError(f"unexpected text {self.src[self.pos:].strip()[:20]!r}")
        return node

    def _peek(self) -> str:
        m = _TOKEN.match(self.src, self.pos)
        return m.group(1) if m else ""

    def _next(self) -> str:
        m = _TOKEN.match(self.src, self.pos)
        if not m:
            raise PatternError(f"cannot read pattern at {self.src[self.pos:][:20]!r}")
        self.pos = m.end()
        return m.group(1)

    def _or(self) -> Pattern:
        items = [self._and()]
        while self._peek() == "||":
            self._next()
            items.append(self._and())
        return items[0] if len(items) == 1 else Bool("||", tuple(items))

    def _and(self) -> Pattern:
        items = [self._atom()]
        while self._peek() == "&&":
            self._next()
            items.append(self._atom())
        return items[0] if len(items) == 1 else Bool("&&", tuple(items))

    def _atom(self) -> Pattern:
        tok = self._next()
        if tok == "(":
            node = self._or()
            if self._next() != ")":
                raise PatternError("missing )")
            return node
        if not tok.startswith("$"):
            raise PatternError(f"expected a $. selector, got {tok!r}")
        path = _selector(tok)
        op = self._next()
        if op.upper() in ("IS", "NOT"):
            key = (op.upper(), self._next().upper())
            if key not in _KEYWORDS:
                raise PatternError(f"unknown operator {' '.join(key)}")
            return Cmp(path, _KEYWORDS[key])
        if op.upper() == "EXISTS":
            return Cmp(path, "EXISTS")
        if op not in ("=", "!=", "<", ">", "<=", ">="):
            raise PatternError(f"unknown operator {op!r}")
        return self._value(path, op)

    def _value(self, path: tuple[str | int, ...], op: str) -> Cmp:
        rest = self.src[self.pos:]
        lead = rest.lstrip()
        if lead[:1] in ('"', "%"):
            tok = self._next()
            return Cmp(path, op, tok[1:-1].replace('\\"', '"'), regex=tok[0] == "%")
        end = min([i for i in (lead.find(")"), lead.find("&&"), lead.find("||")) if i >= 0] or [len(lead)])
        raw = lead[:end].strip()  # unquoted values may hold spaces ("Failed authentication")
        if not raw:
            raise PatternError("missing value")
        self.pos += len(rest) - len(lead) + end
        num = _number(raw)
        return Cmp(path, op, raw if num is None else num)


def _selector(tok: str) -> tuple[str | int, ...]:
    if not tok.startswith("$."):
        raise PatternError(f"bad selector {tok!r}")
    parts: list[str | int] = []
    for piece in tok[2:].split("."):
        m = re.fullmatch(r"([^\[\]]+)((?:\[\d+\])*)", piece)
        if not m:
            raise PatternError(f"bad selector {tok!r}")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(parts)


def _number(raw: str) -> float | None:
    return float(raw) if re.fullmatch(r"-?\d+(\.\d+)?", raw) else None


_MISSING = object()


def _get(record: Any, path: tuple[str | int, ...]) -> Any:
    cur = record
    for p in path:
        if isinstance(p, int) and isinstance(cur, list) and p < len(cur):
            cur = cur[p]
        elif isinstance(p, str) and isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            return _MISSING
    return cur


def _text_match(want: str, got: str, regex: bool) -> bool:
    if regex:
        return re.search(want, got) is not None
    return re.fullmatch(".*".join(re.escape(x) for x in want.split("*")), got, re.S) is not None


def _cmp(c: Cmp, record: dict[str, Any]) -> bool:
    got = _get(record, c.path)
    special = {"EXISTS": got is not _MISSING, "NOT_EXISTS": got is _MISSING, "IS_NULL": got is None,
               "IS_TRUE": got is True, "IS_FALSE": got is False}
    if c.op in special:
        return special[c.op]
    if got is _MISSING or got is None or isinstance(got, (dict, list)):
        return False
    if isinstance(c.value, float) and not isinstance(got, bool) and isinstance(got, (int, float)):
        return {"=": got == c.value, "!=": got != c.value, "<": got < c.value, ">": got > c.value,
                "<=": got <= c.value, ">=": got >= c.value}[c.op]
    if c.op not in ("=", "!="):
        return False
    text = str(got).lower() if isinstance(got, bool) else str(got)
    want = c.value if isinstance(c.value, str) else f"{c.value:g}"
    return _text_match(want, text, c.regex) == (c.op == "=")


def matches(pattern: Pattern, record: dict[str, Any]) -> bool:
    if isinstance(pattern, Cmp):
        return _cmp(pattern, record)
    if isinstance(pattern, Bool):
        hits = (matches(p, record) for p in pattern.items)
        return all(hits) if pattern.op == "&&" else any(hits)
    raw = json.dumps(record, separators=(",", ":"))
    return (all(t in raw for t in pattern.terms) and not any(t in raw for t in pattern.none_terms)
            and (not pattern.any_terms or any(t in raw for t in pattern.any_terms)))


def dnf(pattern: Pattern) -> list[list[Cmp]]:
    """The pattern as OR of AND-lists of comparisons."""
    if isinstance(pattern, Cmp):
        return [[pattern]]
    if isinstance(pattern, Terms):
        raise PatternError("a text pattern cannot be a reference")
    parts = [dnf(p) for p in pattern.items]
    if pattern.op == "||":
        return [conj for part in parts for conj in part]
    return [[c for conj in combo for c in conj] for combo in product(*parts)]


# ---- EventBridge event patterns -------------------------------------------------------------------------------

def eb_matches(pattern: Any, event: Any) -> bool:
    """EventBridge content filtering: every key of the pattern must match (arrays: any value matches)."""
    if not isinstance(pattern, dict) or not pattern:
        return False
    for key, want in pattern.items():
        if key == "$or":
            if not isinstance(want, list) or not any(eb_matches(p, event) for p in want):
                return False
            continue
        present = isinstance(event, dict) and key in event
        value = event.get(key) if present else None
        if isinstance(want, dict):
            if not (present and isinstance(value, dict) and eb_matches(want, value)):
                return False
        elif not isinstance(want, list) or not _eb_field(want, present, value):
            return False
    return True


def _eb_field(rules: list[Any], present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, dict) and "exists" in rule:
            if bool(rule["exists"]) == present:
                return True
        elif present and any(_eb_value(rule, v) for v in values):
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


_NUMERIC = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">": operator.gt, ">=": operator.ge}


def _eb_value(rule: Any, v: Any) -> bool:
    if not isinstance(rule, dict):
        return _same(rule, v)
    if len(rule) != 1:
        return False
    (op, arg), = rule.items()
    s = v if isinstance(v, str) else None
    if op in ("prefix", "suffix"):
        fold = isinstance(arg, dict)
        want = str(arg.get("equals-ignore-case", "")) if fold else str(arg)
        if s is None:
            return False
        got, want = (s.lower(), want.lower()) if fold else (s, want)
        return got.startswith(want) if op == "prefix" else got.endswith(want)
    if op == "equals-ignore-case":
        return s is not None and s.lower() == str(arg).lower()
    if op == "wildcard":
        return s is not None and fnmatch.fnmatchcase(s, str(arg).replace("[", "[[]"))
    if op == "anything-but":
        if isinstance(arg, dict):
            return not _eb_value(arg, v)
        return not any(_same(a, v) for a in (arg if isinstance(arg, list) else [arg]))
    if op == "numeric":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not isinstance(arg, list) or len(arg) % 2:
            return False
        return all(o in _NUMERIC and _NUMERIC[o](v, n) for o, n in zip(arg[::2], arg[1::2], strict=True))
    if op == "cidr":
        try:
            return s is not None and ipaddress.ip_address(s) in ipaddress.ip_network(str(arg), strict=False)
        except ValueError:
            return False
    return False


def parse_event_pattern(text: str | None) -> dict[str, Any]:
    try:
        pattern = json.loads(text or "")
    except ValueError as exc:
        raise PatternError(f"event pattern is not JSON: {exc}") from None
    if not isinstance(pattern, dict):
        raise PatternError("event pattern is not an object")
    return pattern
