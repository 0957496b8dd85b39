"""SARIF 2.1.0 shaped for GitHub code scanning (see shared/sarif-github.md §5).

One run per (account, region | global) scope with a fixed category, a relative pseudo path per resource (an ARN
would be read as URI scheme 'arn' and sink the whole upload), our own stable fingerprint, and severity on the rules.
A scope whose scan was incomplete is left out: uploading it would close its open alerts as "fixed".
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from auditor.catalog import catalog
from auditor.models import GLOBAL, AuditResult, CheckInfo, Finding, ResourceRef, Severity, Status
from reports.base import Renderer

TOOL = "awsaudit"  # the driver name GitHub tracks alerts by: never rename it
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_VERSION = "v1"  # bump only on purpose: every alert would re-open as new
MAX_RUNS = 20
MAX_RESULTS = 25_000
MAX_GZIP = 7 * 1024 * 1024  # headroom under GitHub's 10 MB
MAX_URI = 512
MAX_TAGS = 10
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "2.0"}
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note",
         Severity.INFORMATIONAL: "note"}
REPORTED = (Status.FAIL, Status.WAIVED)

Scope = tuple[str, str]  # (account id, region or "global")


class SarifError(ValueError):
    """The SARIF would be wrong for GitHub (e.g. two results share a fingerprint)."""


class SarifRenderer(Renderer):
    name = "sarif"
    suffix = ".sarif"

    def render(self, result: AuditResult) -> str:
        """Every complete scope in one document (may exceed GitHub's per-upload limits; see render_files)."""
        return _dump(_log([run for _, run in _runs(result)]))

    def render_files(self, result: AuditResult, stem: str) -> dict[str, str]:
        """`<stem>.sarif`, or `<stem>-1.sarif`, `<stem>-2.sarif`... when one upload would exceed GitHub's limits.

        Empty when no scope is complete: uploading nothing keeps the open alerts as they are.
        """
        packs = _pack(_runs(result))
        if len(packs) == 1:
            return {f"{stem}{self.suffix}": _dump(_log(packs[0]))}
        return {f"{stem}-{i}{self.suffix}": _dump(_log(runs)) for i, runs in enumerate(packs, start=1)}


def incomplete_scopes(result: AuditResult) -> list[str]:
    """Scopes ('<account>/<region>') left out of the SARIF because something in them could not be assessed."""
    return [f"{acct}/{region}" for acct, region in sorted(_incomplete(result), key=_scope_order)]


def fingerprint(partition: str, f: Finding, account: str) -> str:
    """Full sha256 of the finding's identity; GitHub gets its first 16 hex digits + ':1'."""
    key = "\x1f".join([FINGERPRINT_VERSION, partition, account, f.region, f.check_id, f.resource.arn, f.subkey])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _account(result: AuditResult, f: Finding) -> str:
    return f.account_id or result.identity.account_id


def _scope_order(scope: Scope) -> tuple[str, bool, str]:
    return (scope[0], scope[1] != GLOBAL, scope[1])


def _global_only(check_id: str) -> bool:
    item = catalog().get(check_id)
    scope = item.scope.lower() if item else ""
    return "global" in scope and "region" not in scope


def _regional(check_id: str) -> bool:
    item = catalog().get(check_id)
    return bool(item) and "per region" in item.scope.lower()


def _incomplete(result: AuditResult) -> set[Scope]:
    scopes = _all_scopes(result)
    # Every gap on data a check needs became an ERROR finding; gaps on optional reads change no verdict.
    bad: set[Scope] = set()
    for f in result.findings:
        if f.status is not Status.ERROR:
            continue
        acct_f = _account(result, f)
        bad.add((acct_f, f.region))
        check_wide = f.gap is None or f.gap.resource_id is None
        if f.region == GLOBAL and check_wide and not _global_only(f.check_id):
            # The runner dropped this check's findings in every region: uploading them would "fix" its alerts.
            bad.update(s for s in scopes if s[0] == acct_f)
        elif f.region != GLOBAL and check_wide and not _regional(f.check_id):
            # A regional gap also drops the check's account-level (global) findings.
            bad.add((acct_f, GLOBAL))
    return bad


def _all_scopes(result: AuditResult) -> set[Scope]:
    acct = result.identity.account_id
    scopes = {(acct, r) for r in [GLOBAL, *result.regions]}
    scopes.update((_account(result, f), f.region) for f in result.findings if f.status is not Status.MANUAL)
    return scopes


def _runs(result: AuditResult) -> list[tuple[str, dict[str, Any]]]:
    """(account, run) for every complete scope, in a fixed order."""
    by_scope: dict[Scope, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.status is not Status.MANUAL:
            by_scope[(_account(result, f), f.region)].append(f)
    infos = {c.id: c for c in result.checks if not c.manual}
    skip = _incomplete(result)
    runs = []
    for scope in sorted(_all_scopes(result) - skip, key=_scope_order):
        acct, region = scope
        found = by_scope.get(scope, [])
        expected = _global_only if region == GLOBAL else _regional
        rule_ids = {f.check_id for f in found} | {cid for cid in infos if expected(cid)}
        rules = [_rule(infos[cid]) if cid in infos else _bare_rule(cid) for cid in sorted(rule_ids)]
        results = _results(result, found)
        for part, chunk in _parts(results):
            category = f"{TOOL}/{_seg(acct)}/{_seg(region)}/" + (f"part-{part}/" if part is not None else "")
            runs.append((acct, _run(result, category, rules, chunk)))
    return runs


def _results(result: AuditResult, found: list[Finding]) -> list[dict[str, Any]]:
    out, seen = [], set()
    for f in found:
        if f.status not in REPORTED:
            continue
        item = _result(result, f)
        fp = item["partialFingerprints"]["primaryLocationLineHash"]
        if fp in seen:
            raise SarifError(f"two findings share fingerprint {fp}: {f.check_id} {f.resource.arn} {f.subkey!r}")
        seen.add(fp)
        out.append(item)
    return sorted(out, key=lambda r: (r["ruleId"], r["partialFingerprints"]["primaryLocationLineHash"]))


def _parts(results: list[dict[str, Any]]) -> list[tuple[int | None, list[dict[str, Any]]]]:
    """Over 25k results: split by fingerprint into 2^n stable buckets, each its own category."""
    if len(results) <= MAX_RESULTS:
        return [(None, results)]
    k = 2
    while True:
        buckets: list[list[dict[str, Any]]] = [[] for _ in range(k)]
        for r in results:
            buckets[int(r["partialFingerprints"]["awsauditFinding/v1"][:8], 16) % k].append(r)
        if max(len(b) for b in buckets) <= MAX_RESULTS:
            return list(enumerate(buckets))
        k *= 2


def _run(result: AuditResult, category: str, rules: list[dict[str, Any]],
         results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "tool": {"driver": {"name": TOOL, "version": result.tool_version, "semanticVersion": result.tool_version,
                            "rules": rules}},
        "automationDetails": {"id": category},
        "invocations": [{"executionSuccessful": True, "startTimeUtc": _utc(result.started_at),
                         "endTimeUtc": _utc(result.finished_at)}],
        "results": results,
    }


def _rule(info: CheckInfo) -> dict[str, Any]:
    fw = info.frameworks
    framework_tags = ([f"cis-aws-v7/{x}" for x in fw.get("cis_v7", [])] + [f"ssb/{x}" for x in fw.get("ssb", [])]
                      + [f"source/{x}" for x in fw.get("sources", [])])
    tags = list(dict.fromkeys(["security", "aws", info.service, *framework_tags]))[:MAX_TAGS]
    labels = ", ".join(framework_tags) or "none"
    parts = [("Why it matters", info.rationale if info.rationale != info.remediation else ""),
             ("What is checked and how to fix it", info.remediation), ("Frameworks", labels)]
    parts = [(k, v) for k, v in parts if v]
    text = "\n\n".join([info.title, *(f"{k}: {v}" for k, v in parts)])
    markdown = "\n\n".join([f"**{info.title}**", *(f"**{k}:** {v}" for k, v in parts)])
    props: dict[str, Any] = {"tags": tags, "precision": "very-high"}
    if info.severity in SECURITY_SEVERITY:
        props["security-severity"] = SECURITY_SEVERITY[info.severity]
    return {"id": info.id, "name": _camel(info.id)[:255], "shortDescription": {"text": info.title[:1024]},
            "fullDescription": {"text": info.rationale or info.title}, "help": {"text": text, "markdown": markdown},
            "defaultConfiguration": {"level": LEVEL[info.severity]}, "properties": props}


def _bare_rule(check_id: str) -> dict[str, Any]:
    # A finding whose check is missing from result.checks (hand-edited report): still a valid rule.
    text = f"auditor check {check_id}"
    return {"id": check_id, "name": _camel(check_id)[:255], "shortDescription": {"text": text},
            "fullDescription": {"text": text}, "help": {"text": text}, "properties": {"tags": ["security", "aws"]}}


def _result(result: AuditResult, f: Finding) -> dict[str, Any]:
    acct = _account(result, f)
    full = fingerprint(result.identity.partition, f, acct)
    arn = f.resource.arn
    message = " ".join(f.message.split()).rstrip(".") or f.check_id
    out: dict[str, Any] = {
        "ruleId": f.check_id,
        "level": LEVEL[f.severity],
        "message": {"text": f"{message} ({arn})."},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": _uri(acct, f.region, f.resource)},
                                 "region": {"startLine": 1}},
            "logicalLocations": [{"fullyQualifiedName": arn, "kind": "resource"}],
        }],
        "partialFingerprints": {"primaryLocationLineHash": f"{full[:16]}:1",
                                f"awsauditFinding/{FINGERPRINT_VERSION}": full},
        "properties": {"resourceArn": arn, "resourceId": f.resource.id, "resourceType": f.resource.type,
                       "accountId": acct, "region": f.region, "subkey": f.subkey, "evidence": f.evidence},
    }
    if f.status is Status.WAIVED:
        w = f.waiver or {}
        out["suppressions"] = [{
            "kind": "external", "status": "accepted",
            "justification": f"{w.get('reason', 'waived')} (owner {w.get('owner', '?')}, "
                             f"expires {w.get('expires', '?')})",
            "properties": {"owner": w.get("owner"), "expires": w.get("expires"), "matchedBy": w.get("matched_by")},
        }]
    return out


def _uri(account: str, region: str, ref: ResourceRef) -> str:
    """awsaudit/<account>/<region>/<service>/<type>/<pct(id)>: ASCII, no scheme, stable."""
    parts = ref.type.split("::")
    service = parts[1] if len(parts) > 1 and parts[1] else ""
    if not service:
        arn_parts = ref.arn.split(":")
        service = arn_parts[2] if "AccountSetting" in ref.type and len(arn_parts) > 2 else "account"
    rtype = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", parts[2]).lower() if len(parts) > 2 else "resource"
    head = "/".join(_seg(s) for s in (TOOL, account, region, service.lower(), rtype))
    rid = _seg(ref.id or ref.arn)
    room = MAX_URI - len(head) - 1
    if len(rid) > room:
        digest = hashlib.sha256((ref.id or ref.arn).encode("utf-8")).hexdigest()[:8]
        rid = re.sub(r"%[0-9A-F]?$", "", rid[: room - 9]) + "~" + digest
    return f"{head}/{rid}"


def _seg(value: str) -> str:
    seg = quote(value, safe="")
    if seg in ("", ".", ".."):  # empty or dot segments would collapse the path
        seg = seg.replace(".", "%2E") or "_"
    return seg


def _camel(check_id: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", check_id) if w)


def _utc(dt: datetime) -> str:
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": runs}


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _pack(runs: list[tuple[str, dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Group runs into uploads: one account per file, at most 20 runs and ~7 MB gzipped each."""
    packs: list[list[dict[str, Any]]] = []
    size, account = 0, None
    for acct, run in runs:
        run_size = len(gzip.compress(_dump(run).encode("utf-8")))
        if not packs or acct != account or len(packs[-1]) >= MAX_RUNS or size + run_size > MAX_GZIP:
            packs.append([])
            size, account = 0, acct
        packs[-1].append(run)
        size += run_size
    return packs
