"""What each monitoring item must catch, as sample CloudTrail records generated from its reference pattern.

Each OR-branch of the reference (CIS v7 appendix E of the checklist) becomes records that satisfy it, varied
over the fields the branch leaves open: the caller (IAM user, assumed role, root), success or failure, the
API when the branch names none. A candidate filter or EventBridge rule covers the item when it matches every
record; NOISE (a plain successful read by a user) must not match, so a match-all pattern never counts.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from itertools import product
from typing import Any

from auditor.filter_pattern import Cmp, PatternError, dnf, matches, parse

# Services whose CloudTrail events are recorded (and sent to EventBridge) in us-east-1 only.
GLOBAL_SOURCES = frozenset({"iam.amazonaws.com", "organizations.amazonaws.com", "signin.amazonaws.com",
                            "sts.amazonaws.com"})
GLOBAL_EVENT_REGION = "us-east-1"
_READ = ("Describe", "Get", "List", "Head", "Lookup")  # EventBridge's read-only classes (plus CloudTrail's)
_FILLER = {"lead": "Client.", "tail": "Exception", "mid": "x"}


@dataclass(frozen=True)
class Reference:
    pattern: str  # CloudWatch Logs filter pattern whose events must all be caught
    source: str = ""  # eventSource of the pattern's eventNames when the pattern leaves it open
    activities: tuple[tuple[str, str], ...] = ()  # (eventSource, eventName) samples when it names no API


def _identities(account: str) -> list[dict[str, Any]]:
    return [
        {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER", "arn": f"arn:aws:iam::{account}:user/alice",
         "accountId": account, "userName": "alice"},
        {"type": "AssumedRole", "principalId": "AROAEXAMPLEROLE:bob",
         "arn": f"arn:aws:sts::{account}:assumed-role/Admin/bob", "accountId": account,
         "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{account}:role/Admin",
                                              "accountId": account, "userName": "Admin"},
                            "attributes": {"mfaAuthenticated": "true"}}},
        {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account},
    ]


def _record(source: str, name: str, who: dict[str, Any], account: str, failed: bool, mfa: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.09", "userIdentity": copy.deepcopy(who), "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": source, "eventName": name,
        "awsRegion": GLOBAL_EVENT_REGION, "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15",
        "requestParameters": {}, "responseElements": None, "eventID": "00000000-0000-4000-8000-000000000000",
        "readOnly": name.startswith(_READ) or name == "Decrypt", "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": account, "eventCategory": "Management"}
    if name == "ConsoleLogin":
        rec.update(eventType="AwsConsoleSignIn", requestParameters=None, responseElements={
            "ConsoleLogin": "Failure" if failed else "Success"}, additionalEventData={
            "LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfa})
        if failed:
            rec["errorMessage"] = "Failed authentication"
    elif failed:
        rec.update(errorCode="AccessDenied", errorMessage="User is not authorized to perform this operation")
    return rec


def _set(rec: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    cur: Any = rec
    for p in path[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[path[-1]] = value


def _drop(rec: dict[str, Any], path: tuple[str | int, ...]) -> None:
    cur: Any = rec
    for p in path[:-1]:
        cur = cur.get(p) if isinstance(cur, dict) else None
    if isinstance(cur, dict):
        cur.pop(path[-1], None)


def _concrete(c: Cmp) -> list[Any]:
    """Values satisfying `= value`: a wildcard is tried empty and filled ("AccessDenied*" -> AccessDeniedException)."""
    if not isinstance(c.value, str) or "*" not in c.value or c.regex:
        return [c.value]
    parts = c.value.split("*")
    filled = parts[0] + "".join(
        (_FILLER["lead"] if i == 0 and not parts[0] else _FILLER["tail"] if i == len(parts) - 2 and not parts[-1]
         else _FILLER["mid"]) + part for i, part in enumerate(parts[1:]))
    return sorted({"".join(parts), filled})


def _satisfy(rec: dict[str, Any], conj: list[Cmp], choice: dict[int, Any]) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    for i, c in enumerate(conj):
        if c.op == "=":
            _set(out, c.path, choice[i])
        elif c.op in ("IS_TRUE", "IS_FALSE", "IS_NULL"):
            _set(out, c.path, {"IS_TRUE": True, "IS_FALSE": False, "IS_NULL": None}[c.op])
        elif c.op == "NOT_EXISTS":
            _drop(out, c.path)
        elif c.op == "EXISTS" or (c.op in ("<", ">", "<=", ">=") and isinstance(c.value, float)):
            delta = {"<": -1.0, "<=": 0.0, ">": 1.0, ">=": 0.0}.get(c.op, 0.0)
            _set(out, c.path, "x" if c.op == "EXISTS" else c.value + delta)
    for c in conj:  # exclusions last, so they see the final values
        if c.op == "!=" and not matches(c, out):
            _set(out, c.path, "Other" if c.path[-1] != "MFAUsed" else "No")
    return out


def samples(ref: Reference, account: str) -> list[dict[str, Any]]:
    """Records the reference matches, deduplicated and sorted (one region: us-east-1)."""
    out: dict[str, dict[str, Any]] = {}
    for conj in dnf(parse(ref.pattern)):
        eq = {c.path: c for c in conj if c.op == "="}
        names = _concrete(eq[("eventName",)]) if ("eventName",) in eq else None
        source = _concrete(eq[("eventSource",)])[0] if ("eventSource",) in eq else ref.source
        acts = [(source, n) for n in names] if names else list(ref.activities)
        pinned = {c.path[0] for c in conj} & {"errorCode", "errorMessage"}
        user_type = eq.get(("userIdentity", "type"))
        whos = [w for w in _identities(account) if user_type is None or w["type"] == user_type.value] \
            or _identities(account)[:1]
        eq_idx = [i for i, c in enumerate(conj) if c.op == "="]
        for (src, name), who, failed, mfa in product(acts, whos, (False, True), ("Yes", "No")):
            if (failed and pinned) or (mfa == "No" and name != "ConsoleLogin"):
                continue
            base = _record(str(src), str(name), who, account, failed, mfa)
            for combo in product(*(_concrete(conj[i]) for i in eq_idx)):
                rec = _satisfy(base, conj, dict(zip(eq_idx, combo, strict=True)))
                out.setdefault(json.dumps(rec, sort_keys=True), rec)
    pattern = parse(ref.pattern)
    return [rec for key, rec in sorted(out.items()) if matches(pattern, rec)]


def covers(pattern: str, ref: Reference, account: str = "123456789012") -> bool:
    """Whether a CloudWatch Logs filter pattern catches every event of the reference, and not everything."""
    try:
        pat = parse(pattern)
    except PatternError:
        return False
    return not matches(pat, noise(account)) and all(matches(pat, r) for r in samples(ref, account))


def in_region(rec: dict[str, Any], region: str) -> dict[str, Any]:
    if rec.get("eventSource") in GLOBAL_SOURCES or rec.get("awsRegion") == region:
        return rec
    return {**rec, "awsRegion": region}


def regions_of(rec: dict[str, Any], regions: list[str]) -> list[str]:
    """Where the event can happen: global services in us-east-1 only, the rest in every region."""
    return [GLOBAL_EVENT_REGION] if rec.get("eventSource") in GLOBAL_SOURCES else list(regions)


def to_eventbridge(rec: dict[str, Any]) -> dict[str, Any]:
    console = rec.get("eventType") == "AwsConsoleSignIn"
    return {"version": "0", "id": "00000000-0000-4000-8000-000000000001",
            "detail-type": "AWS Console Sign In via CloudTrail" if console else "AWS API Call via CloudTrail",
            "source": "aws." + str(rec.get("eventSource", "")).split(".")[0], "account": rec["recipientAccountId"],
            "time": rec["eventTime"], "region": rec["awsRegion"], "resources": [], "detail": rec}


def needs_read_only_delivery(rec: dict[str, Any]) -> bool:
    """EventBridge rules see Describe/Get/List events only in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS."""
    return str(rec.get("eventName", "")).startswith(("Describe", "Get", "List"))


def noise(account: str) -> dict[str, Any]:
    return _record("ec2.amazonaws.com", "DescribeInstances", _identities(account)[0], account, False, "Yes")


def guardduty_findings(account: str, region: str) -> list[dict[str, Any]]:
    """High-severity GuardDuty findings of three resource kinds, as EventBridge delivers them."""
    kinds = (("UnauthorizedAccess:EC2/SSHBruteForce", "Instance"),
             ("CredentialAccess:IAMUser/AnomalousBehavior", "AccessKey"),
             ("Policy:S3/BucketBlockPublicAccessDisabled", "S3Bucket"))
    return [{"version": "0", "id": f"00000000-0000-4000-8000-00000000001{i}", "detail-type": "GuardDuty Finding",
             "source": "aws.guardduty", "account": account, "region": region, "resources": [],
             "detail": {"schemaVersion": "2.0", "accountId": account, "region": region, "type": kind,
                        "severity": 8.0, "resource": {"resourceType": rtype}, "service": {"archived": False}}}
            for i, (kind, rtype) in enumerate(kinds)]
