"""Detection services in every scanned region: AWS Config recording, GuardDuty, Security Hub.

Each region gets one finding on a region setting (inv.setting), so its identity stays stable whether or not
the service is on. The checklist's WARN outcomes become PASS with a "warnings" entry in the evidence.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.awsconfig import DELIVERY_CHANNELS, RECORDERS, ConfigRecorder
from auditor.collectors.guardduty import DETECTORS
from auditor.collectors.securityhub import HUB, STANDARDS
from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.registry import check


def _unreadable(inv: Inventory, dataset: str, region: str) -> bool:
    """An optional dataset (not in the check's needs) that could not be read in this region."""
    return any(g.dataset == dataset and g.region == region for g in inv.gaps)


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
