"""Secret detection for user data, environment variables and task definitions.

Every function returns only *where* a secret is and *what kind* it is (SecretHit), never the value, a
prefix of it or a hash: hits land in the inventory and in every report format. Locations are built from
line numbers and variable names only, and a name that itself looks like a secret is left out.

Detectors: well-known token shapes (AWS access key ids, private key blocks, GitHub/Slack/Stripe/Google
tokens, JWTs, bearer/basic credentials), AWS secret access keys assigned by name, connection strings with
an embedded password, secret-named assignments with a literal value (not a reference such as a Secrets
Manager/SSM ARN, a parameter path, a ${VAR} or $(command)), and high-entropy strings.
"""
from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable

from auditor.models import Frozen

AWS_ACCESS_KEY_ID = "AWS access key id"
AWS_SECRET_KEY = "AWS secret access key"
PRIVATE_KEY = "private key"
CONNECTION_PASSWORD = "password in connection string"
SECRET_ASSIGNMENT = "secret-named value with a literal"
HIGH_ENTROPY = "high-entropy string"
_GENERIC = frozenset({SECRET_ASSIGNMENT, HIGH_ENTROPY})  # dropped where a specific kind already matched


class SecretHit(Frozen):
    location: str  # "line 7 (DB_PASSWORD)", "variable API_TOKEN", "container web: variable API_TOKEN"
    kind: str


_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (AWS_ACCESS_KEY_ID, re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])")),
    (PRIVATE_KEY, re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+")),
    ("Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*")),
    ("basic auth credentials", re.compile(r"(?i)\bauthorization:\s*basic\s+[A-Za-z0-9+/]{8,}=*")),
)
_AWS_SECRET_NAME = re.compile(r"(?i)aws_?secret_?(?:access_?)?key|secret_?access_?key")
_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+]{40}")
_CONNECTION = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://(?P<user>[^\s:/@'\"]+):(?P<value>[^\s@/'\"]+)@[^\s'\"]")
# NAME=value, NAME: value, "name": "value", NAME := value; and --password value / --token=value flags
_ASSIGNMENT = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,63})[\"']?\s*(?::=|=|:(?!//))\s*(?P<value>\"[^\"]*\"|'[^']*'|[^\s'\",;#]+)")
_FLAG = re.compile(
    r"(?i)--(?P<name>[a-z-]*(?:password|passwd|token|secret)[a-z-]*)[= ]+(?P<value>\"[^\"]*\"|'[^']*'|\S+)")
SECRET_NAME = re.compile(
    r"(?i)passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key|auth[_-]?key"
    r"|credentials?|signing[_-]?key|encryption[_-]?key|master[_-]?key|session[_-]?key")
# Names that carry *about* a secret (where it is, how long it is), not the secret itself.
_META_SUFFIX = re.compile(
    r"(?i)[_.-](?:arn|name|names|file|path|url|uri|id|ids|length|len|ttl|region|endpoint|param|parameter|type"
    r"|expiry|expires|expiration|header|field|policy|enabled|rotation|version|prefix|min|max|size|kind|source"
    r"|location|ref|key[_-]?id|secret[_-]?id|table|bucket|queue|topic|stream|function|host|port|user|username"
    r"|email|account|role|group|dir|directory|folder|mode|format|algorithm|duration|timeout|count|limit)$")
_REFERENCE = re.compile(
    r"(?i)^(?:arn:aws[a-z-]*:(?:secretsmanager|ssm|kms):|/aws/reference/|\{\{resolve:|ssm:|secretsmanager:"
    r"|vault:|env:|file:|sm://|ref\+|alias/)")
_NON_LITERAL = frozenset({"true", "false", "yes", "no", "none", "null", "nil", "undefined", "required",
                          "optional", "disabled", "enabled", "on", "off", "string", "str", "text"})
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
_MIN_LITERAL = 4
_MAX_ENTROPY_TOKEN = 256  # longer blobs are certificates or bundles, not credentials
_ENTROPY_BITS = 4.3  # bits per character; random base64 of 32-40 chars scores ~4.6-4.9, words ~3.5


def scan_text(text: str, prefix: str = "") -> list[SecretHit]:
    """Hits in a script or config text; locations are '<prefix>line N' (+ the assigned name when safe)."""
    found: set[SecretHit] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        for name, kind in _line_hits(line):
            where = f"{prefix}line {number}" + (f" ({name})" if name else "")
            found.add(SecretHit(location=where, kind=kind))
    return _tidy(found)


def scan_variables(pairs: Iterable[tuple[str, str]], prefix: str = "") -> list[SecretHit]:
    """Hits in environment variables; locations are '<prefix>variable NAME'."""
    found: set[SecretHit] = set()
    for name, value in pairs:
        safe = _safe_name(name)
        where = f"{prefix}variable {name if safe else '(unnamed)'}"
        for kind in _variable_kinds(name, value or "") | (set() if safe else _value_kinds(name)):
            found.add(SecretHit(location=where, kind=kind))
    return _tidy(found)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not _META_SUFFIX.search(name)


def is_literal(value: str) -> bool:
    """A value written out in place, not a reference, template, placeholder, path, number or flag."""
    v = value.strip().strip("\"'").strip()
    if len(v) < _MIN_LITERAL or v.lower() in _NON_LITERAL:
        return False
    if v.startswith(("$", "%", "{{", "<", "@", "!", "/", "./", "~/")) or any(s in v for s in ("${", "$(", "`")):
        return False
    if _REFERENCE.match(v) or re.fullmatch(r"[0-9.:-]+", v) or re.fullmatch(r"[*xX•.#-]+", v):
        return False
    return True


def _variable_kinds(name: str, value: str) -> set[str]:
    kinds = {kind for kind in _value_kinds(value)}
    if _AWS_SECRET_NAME.search(name) and _AWS_SECRET_VALUE.fullmatch(value.strip()):
        kinds.add(AWS_SECRET_KEY)
    if is_secret_name(name) and is_literal(value):
        kinds.add(SECRET_ASSIGNMENT)
    if _high_entropy(value.strip()):
        kinds.add(HIGH_ENTROPY)
    for line in value.splitlines():  # JSON or .env content inside one variable
        kinds.update(kind for _, kind in _line_hits(line))
    return _specific(kinds)


def _value_kinds(text: str) -> set[str]:
    kinds = {kind for kind, pattern in _TOKENS if pattern.search(text)}
    for m in _CONNECTION.finditer(text):
        if is_literal(m.group("value")):
            kinds.add(CONNECTION_PASSWORD)
    return kinds


def _line_hits(line: str) -> list[tuple[str, str]]:
    """(assigned name or '', kind) for one line."""
    hits: list[tuple[str, str]] = []
    spans: list[tuple[int, int, str]] = []  # value spans of assignments, to name token hits inside them
    for m in (*_ASSIGNMENT.finditer(line), *_FLAG.finditer(line)):
        name, value = m.group("name"), m.group("value")
        spans.append((m.start("value"), m.end("value"), name if _safe_name(name) else ""))
        bare = value.strip("\"'")
        if _AWS_SECRET_NAME.search(name) and _AWS_SECRET_VALUE.fullmatch(bare):
            hits.append((spans[-1][2], AWS_SECRET_KEY))
        elif is_secret_name(name) and is_literal(value):
            hits.append((spans[-1][2], SECRET_ASSIGNMENT))

    def owner(start: int) -> str:
        return next((n for a, b, n in spans if a <= start < b), "")

    for kind, pattern in _TOKENS:
        hits.extend((owner(m.start()), kind) for m in pattern.finditer(line))
    for m in _CONNECTION.finditer(line):
        if is_literal(m.group("value")):
            hits.append((owner(m.start()), CONNECTION_PASSWORD))
    for m in _TOKEN_CHARS.finditer(line):
        if _high_entropy(m.group()):
            hits.append((owner(m.start()), HIGH_ENTROPY))
        elif _encoded_private_key(m.group()):
            hits.append((owner(m.start()), PRIVATE_KEY))
    by_name: dict[str, set[str]] = {}
    for name, kind in hits:
        by_name.setdefault(name, set()).add(kind)
    return [(name, kind) for name, kinds in by_name.items() for kind in _specific(kinds)]


def _specific(kinds: set[str]) -> set[str]:
    specific = kinds - _GENERIC
    if specific:
        return specific
    return {SECRET_ASSIGNMENT} if SECRET_ASSIGNMENT in kinds else kinds


def _high_entropy(token: str) -> bool:
    """Random-looking credential material: long, mixed case and digits, high Shannon entropy. Pure hex
    (checksums, ids) and long blobs are left out on purpose: they are mostly not secrets."""
    if not 32 <= len(token) <= _MAX_ENTROPY_TOKEN or not _TOKEN_CHARS.fullmatch(token):
        return False
    if not (re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"[0-9]", token)):
        return False
    if _encoded_text(token) or _wordy(token):
        return False  # base64 of readable text (a certificate, a public key), or a path / hyphenated name
    counts: dict[str, int] = {}
    for ch in token:
        counts[ch] = counts.get(ch, 0) + 1
    bits = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return bits >= _ENTROPY_BITS


def _decoded(token: str) -> bytes | None:
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _encoded_text(token: str) -> bool:
    raw = _decoded(token)
    if raw is None or len(raw) < 16:
        return False
    if b"ssh-" in raw[:32] or b"ecdsa-sha2" in raw[:32]:
        return True  # an SSH public key blob
    return sum(32 <= b < 127 or b in (9, 10, 13) for b in raw) / len(raw) > 0.95


def _wordy(token: str) -> bool:
    """A path or name made of words ('/ec2-downloads/SSMAgent/latest/linux_amd64'), not random material."""
    parts = [p for p in re.split(r"[-_/.]", token) if p]
    words = [p for p in parts if re.fullmatch(r"[A-Z]?[a-z]{3,}|[A-Z]{2,}[a-z]*|[a-z]+[0-9]{1,3}", p)]
    return len(parts) >= 2 and 2 * len(words) >= len(parts)


def _encoded_private_key(token: str) -> bool:
    raw = _decoded(token)
    return raw is not None and b"PRIVATE KEY" in raw


def _safe_name(name: str) -> bool:
    """A name may go into a location unless it looks like secret material itself."""
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}", name)) and not _value_kinds(name) \
        and not _high_entropy(name)


def _tidy(found: set[SecretHit]) -> list[SecretHit]:
    def key(hit: SecretHit) -> tuple[str, int, str, str]:
        m = re.search(r"line (\d+)", hit.location)
        return (hit.location.split("line ")[0], int(m.group(1)) if m else 0, hit.location, hit.kind)
    return sorted(found, key=key)
