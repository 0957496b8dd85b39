"""Detection services in every scanned region: AWS Config recording and rules, GuardDuty (enabled, findings handled,
centrally managed), Security Hub, Macie, Inspector, and SSM patch compliance.

Each region gets one finding on a region setting (inv.setting), so its identity stays stable whether or not
the service is on. The checklist's WARN outcomes become PASS with a "warnings" entry in the evidence.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from auditor.collectors.awsconfig import CONFORMANCE_PACKS, DELIVERY_CHANNELS, RECORDERS, RULES, ConfigRecorder
from auditor.collectors.guardduty import ADMINISTRATION, DETECTORS, FINDINGS, MEMBERS
from auditor.collectors.inspector import SCAN_TYPES, STATUS, WORKLOADS
from auditor.collectors.macie import SESSIONS
from auditor.collectors.organizations import ORG
from auditor.collectors.s3 import BUCKETS
from auditor.collectors.securityhub import HUB, STANDARDS
from auditor.collectors.ssm_patch import SUMMARIES
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Gap, Status
from auditor.registry import check


def _unreadable(inv: Inventory, dataset: str, region: str) -> bool:
    """An optional dataset (not in the check's needs) that could not be read in this region."""
    return _gap(inv, dataset, region) is not None


def _gap(inv: Inventory, dataset: str, region: str) -> Gap | None:
    return next((g for g in inv.gaps if g.dataset == dataset and g.region == region), None)


def _error(finding_ref: Any, message: str, gap: Gap | None, evidence: dict[str, Any]) -> Finding:
    """ERROR for a verdict that rests on an optional dataset which could not be read in this region."""
    return Finding.with_status(Status.ERROR, finding_ref, message, evidence=evidence).model_copy(update={"gap": gap})


def _recorder_problems(r: ConfigRecorder) -> list[str]:
    problems = []
    if r.recording is not True:
        problems.append("is not recording" if r.recording is False else "reports no recording status")
    if r.last_status == "FAILURE":
        problems.append(f"last delivery failed ({r.last_error_code or 'no error code'})")
    if not r.all_supported:
        problems.append("does not record all supported resource types")
    return problems


def _recorder_facts(r: ConfigRecorder) -> dict[str, Any]:
    return {"name": r.name, "recording": r.recording, "last_status": r.last_status, "all_supported": r.all_supported,
            "include_global_resource_types": r.include_global_resource_types,
            "recording_strategy": r.recording_strategy}


@check("config.recorder-all-regions", needs=(RECORDERS,))
def recorder_all_regions(inv: Inventory) -> Iterator[Finding]:
    """Config is the change history of every resource; a region without it is a blind spot for investigations.

    One finding per scanned region, plus one account-level finding (setting "global-resource-types"):
    some region's healthy recorder must include global resource types (IAM), else IAM changes go unrecorded.
    """
    recorders = inv.configservice.recorders
    channels = inv.configservice.delivery_channels
    healthy: list[ConfigRecorder] = []
    for region in sorted(inv.regions):
        ref = inv.setting("config", "recorder", region)
        here = [r for r in recorders if r.region == region]
        if not here:
            yield Finding.failed(ref, f"AWS Config has no configuration recorder in {region}",
                                 evidence={"recorders": []})
            continue
        good = [r for r in here if not _recorder_problems(r)]
        healthy += good
        warnings = []
        names = [c.name for c in channels if c.region == region]
        if _unreadable(inv, DELIVERY_CHANNELS, region):
            delivery: list[str] | str = "unknown (could not be read)"
        else:
            delivery = names
            if not names:
                warnings.append("no delivery channel, so configuration history is not delivered")
        evidence = {"recorders": [_recorder_facts(r) for r in here], "delivery_channels": delivery,
                    "warnings": warnings}
        if good:
            msg = f"AWS Config recorder {good[0].name} records all resource types in {region}"
            yield Finding.passed(ref, msg + (f" (warning: {'; '.join(warnings)})" if warnings else ""),
                                 evidence=evidence)
        else:
            why = "; ".join(f"recorder {r.name} " + ", ".join(_recorder_problems(r)) for r in here)
            yield Finding.failed(ref, f"AWS Config in {region}: {why}", evidence=evidence)
    with_global = sorted({f"{r.name} ({r.region})" for r in healthy if r.include_global_resource_types})
    yield Finding.of(inv.setting("config", "global-resource-types"), passed=bool(with_global),
                     evidence={"recorders_with_global_types": with_global},
                     message=f"global resource types (IAM) are recorded by {', '.join(with_global)}" if with_global
                     else "no recording AWS Config recorder includes global resource types (IAM) in any scanned region")


@check("guardduty.enabled-all-regions", needs=(DETECTORS,))
def guardduty_enabled(inv: Inventory) -> Iterator[Finding]:
    """GuardDuty is the cheapest always-on threat detection; attackers pick the region nobody watches."""
    for region in sorted(inv.regions):
        ref = inv.setting("guardduty", "detector", region)
        here = [d for d in inv.guardduty.detectors if d.region == region]
        evidence = {"detectors": [{"id": d.id, "status": d.status} for d in here]}
        enabled = [d for d in here if d.status == "ENABLED"]
        if enabled:
            yield Finding.passed(ref, f"GuardDuty detector {enabled[0].id} is enabled in {region}", evidence=evidence)
        elif not here:
            yield Finding.failed(ref, f"GuardDuty has no detector in {region}", evidence=evidence)
        else:
            states = ", ".join(f"{d.id} is {d.status}" for d in here)
            yield Finding.failed(ref, f"GuardDuty is not enabled in {region}: detector {states}", evidence=evidence)


@check("securityhub.enabled", needs=(HUB,))
def securityhub_enabled(inv: Inventory) -> Iterator[Finding]:
    """Security Hub aggregates findings and runs the standards' controls continuously.

    Only DescribeHub decides PASS/FAIL; enabled standards are optional evidence (moto lacks the API),
    so "standards: unknown" is reported when they could not be read.
    """
    sh = inv.securityhub
    for region in sorted(inv.regions):
        ref = inv.setting("securityhub", "hub", region)
        hub = next((h for h in sh.hubs if h.region == region), None)
        if hub is None:
            yield Finding.failed(ref, f"Security Hub is not enabled in {region}", evidence={"hub": None})
            continue
        warnings = []
        if _unreadable(inv, STANDARDS, region):
            standards: dict[str, str] | str = "unknown (could not be read)"
        else:
            standards = {s.id: s.status for s in sh.standards if s.region == region}
            if "READY" not in standards.values():
                warnings.append("no enabled standard is READY")
        msg = f"Security Hub is enabled in {region}"
        if isinstance(standards, str):
            msg += " (standards: unknown)"
        yield Finding.passed(ref, msg + (f" (warning: {'; '.join(warnings)})" if warnings else ""),
                             evidence={"hub": hub.arn, "standards": standards, "warnings": warnings})


@check("config.rules-deployed", needs=(RULES,))
def rules_deployed(inv: Inventory) -> Iterator[Finding]:
    """A recorder only records; rules (or conformance packs) evaluate the configuration for every change.

    Security Hub's controls are deployed as service-linked Config rules, so they count here as well.
    """
    cs = inv.configservice
    for region in sorted(inv.regions):
        ref = inv.setting("config", "rules", region)
        rules = [r for r in cs.rules if r.region == region and not r.state.startswith("DELETING")]
        packs = [p.name for p in cs.conformance_packs if p.region == region]
        evidence: dict[str, Any] = {"rules": [r.name for r in rules], "conformance_packs": packs}
        if rules or packs:
            what = f"{len(rules)} Config rule(s)" if rules else f"conformance pack(s) {', '.join(packs)}"
            yield Finding.passed(ref, f"{what} evaluate the configuration in {region}", evidence=evidence)
        elif _unreadable(inv, CONFORMANCE_PACKS, region):
            yield _error(ref, f"no Config rule in {region}, and its conformance packs could not be read",
                         _gap(inv, CONFORMANCE_PACKS, region), evidence)
        else:
            yield Finding.failed(ref, f"no Config rule or conformance pack evaluates the configuration in {region}",
                                 evidence=evidence)


@check("guardduty.no-stale-high-findings", needs=(DETECTORS, FINDINGS))
def no_stale_high_findings(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A high-severity finding left open for days means nobody acts on GuardDuty's alerts."""
    cutoff = cfg.clock() - timedelta(days=cfg.finding_grace_days)
    gd = inv.guardduty
    for region in sorted({d.region for d in gd.detectors}):
        here = [f for f in gd.findings if f.region == region and not f.archived and f.severity >= 7]
        stale = [f for f in here if f.created_at is not None and f.created_at < cutoff]
        for f in stale:
            age = (cfg.clock() - f.created_at).days if f.created_at else 0
            on = f.resource_kind or "a resource"
            yield Finding.failed(f, f"GuardDuty finding {f.type} (severity {f.severity:g}) on {on} is unarchived "
                                 f"for {age} days", evidence={
                                     "title": f.title, "severity": f.severity, "first_seen": _iso(f.created_at),
                                     "last_seen": _iso(f.updated_at), "count": f.count, "detector": f.detector_id})
        if not stale:
            yield Finding.passed(inv.setting("guardduty", "findings", region),
                                 f"no unarchived high-severity GuardDuty finding older than {cfg.finding_grace_days} "
                                 f"days in {region}", evidence={"recent_high_findings": len(here),
                                                                "grace_days": cfg.finding_grace_days})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@check("guardduty.centrally-managed", needs=(DETECTORS, ADMINISTRATION, ORG))
def centrally_managed(inv: Inventory) -> Iterator[Finding]:
    """Findings of every account should land in one security account, out of reach of the workload's admins."""
    if inv.organizations.in_organization is None:
        return  # the organization could not be read: the runner reports that gap as ERROR
    if not inv.organizations.in_organization:
        yield Finding.with_status(Status.NOT_APPLICABLE, inv.account(), "the account is not in an AWS Organization")
        return
    for adm in sorted(inv.guardduty.administration, key=lambda a: a.region):
        ref = inv.setting("guardduty", "administration", adm.region)
        evidence = adm.model_dump(exclude={"region"})
        if adm.relationship == "Enabled":
            yield Finding.passed(ref, f"GuardDuty in {adm.region} is administered by account {adm.administrator_id}",
                                 evidence=evidence)
        elif adm.member_count:
            yield Finding.passed(ref, f"this account administers GuardDuty for {adm.member_count} member account(s) "
                                 f"in {adm.region}", evidence=evidence)
        elif adm.member_count is None and _unreadable(inv, MEMBERS, adm.region):
            yield _error(ref, f"GuardDuty in {adm.region} has no administrator account, and its members could not "
                         "be read", _gap(inv, MEMBERS, adm.region), evidence)
        else:
            admins = f" (delegated administrator: {', '.join(adm.org_admins)})" if adm.org_admins else ""
            state = f"; administrator {adm.administrator_id} is {adm.relationship}" if adm.administrator_id else ""
            yield Finding.failed(ref, f"GuardDuty in {adm.region} has no administrator account and no members"
                                 f"{state}{admins}", evidence=evidence)


@check("macie.enabled", needs=(SESSIONS, BUCKETS))
def macie_enabled(inv: Inventory) -> Iterator[Finding]:
    """Macie finds sensitive data in S3; CIS marks this manual, so it is a supporting signal for data discovery."""
    for region in sorted(inv.regions):
        buckets = sorted(b.id for b in inv.s3.buckets if b.region == region)
        if not buckets:
            continue
        session = next((s for s in inv.macie.sessions if s.region == region), None)
        status = session.status if session else "unknown"
        evidence = {"status": status, "buckets": len(buckets), "sample_buckets": buckets[:10]}
        yield Finding.of(inv.setting("macie", "session", region), passed=status == "ENABLED", evidence=evidence,
                         message=f"Macie is {'enabled' if status == 'ENABLED' else status.lower().replace('_', ' ')} "
                                 f"in {region}, which holds {len(buckets)} S3 bucket(s)")


@check("inspector.enabled", needs=(STATUS,))
def inspector_enabled(inv: Inventory) -> Iterator[Finding]:
    """Inspector scans instances, images and functions for known vulnerabilities continuously."""
    ins = inv.inspector
    for st in sorted(ins.statuses, key=lambda s: s.region):
        ref = inv.setting("inspector2", "account", st.region)
        evidence: dict[str, Any] = {"state": st.state, "resources": st.resources}
        if st.state is None:
            yield Finding.with_status(Status.ERROR, ref, f"Inspector status unknown in {st.region}: {st.error}",
                                      evidence=evidence)
            continue
        if st.state != "ENABLED":
            yield Finding.failed(ref, f"Inspector is {st.state.lower()} in {st.region}", evidence=evidence)
            continue
        work = next((w for w in ins.workloads if w.region == st.region), None)
        exists = {"ec2": True, "ecr": work and work.ecr_repositories, "lambda": work and work.lambda_functions}
        evidence["workloads"] = {k: v for k, v in exists.items() if k != "ec2"}
        off = [t for t in SCAN_TYPES if st.resources.get(t) != "ENABLED"]
        missing = [t for t in off if exists[t]]
        unknown = [t for t in off if exists[t] is None]
        if missing:
            yield Finding.failed(ref, f"Inspector in {st.region} does not scan {', '.join(missing)}"
                                 + (" although such resources exist" if missing != ["ec2"] else ""), evidence=evidence)
        elif unknown:
            yield _error(ref, f"Inspector in {st.region} does not scan {', '.join(unknown)}; whether such resources "
                         "exist could not be read", _gap(inv, WORKLOADS, st.region), evidence)
        else:
            skipped = f" ({', '.join(off)} off: no such resources)" if off else ""
            yield Finding.passed(ref, f"Inspector scans {st.region}{skipped}", evidence=evidence)


@check("ssm.patch-compliance", needs=(SUMMARIES,))
def patch_compliance(inv: Inventory) -> Iterator[Finding]:
    """Unpatched instances are the most common way in after leaked credentials."""
    for inst in inv.ssm_patch.instances:
        counts = inst.counts or {}
        bad = inst.status == "NON_COMPLIANT" or counts.get("missing", 0) > 0 or counts.get("failed", 0) > 0
        evidence = {"status": inst.status, "severity": inst.overall_severity,
                    "non_compliant_by_severity": inst.non_compliant_by_severity,
                    "patch_counts": "unknown" if inst.counts is None else inst.counts,
                    "last_scan": _iso(inst.last_execution), "baseline": inst.baseline_id}
        detail = (f" ({counts.get('missing', 0)} missing, {counts.get('failed', 0)} failed)" if inst.counts
                  else f" ({inst.non_compliant_count} non-compliant patch(es))")
        yield Finding.of(inst, passed=not bad, evidence=evidence,
                         message=f"instance {inst.id} is not patch-compliant{detail}" if bad
                         else f"instance {inst.id} is patch-compliant")
