"""CloudTrail: an account-wide multi-region trail, an organization trail, S3 data events, and per-trail integrity,
encryption and CloudWatch delivery.

Per-trail checks report each trail once, in its home region (CloudTrailSection.unique_trails). The checklist's
WARN outcomes become PASS with a "warnings" entry in the evidence: they never fail a trail.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from auditor.collectors.cloudtrail import TRAIL_SELECTORS, TRAIL_STATUS, TRAILS, Trail
from auditor.collectors.organizations import ORG
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check

CLOUDWATCH_DELIVERY_MAX_AGE = timedelta(hours=24)  # the checklist's fixed "older than 24 h" warning


def _summary(t: Trail) -> dict[str, Any]:
    return {"trail": t.name, "arn": t.arn, "home_region": t.home_region, "multi_region": t.multi_region,
            "organization_trail": t.organization_trail,
            "is_logging": "unknown" if t.is_logging is None else t.is_logging,
            "all_management_events": _known(t.management_events_all())}


def _known(value: bool | None) -> bool | str:
    return "unknown" if value is None else value


def _why_not(t: Trail) -> str:
    if not t.multi_region:
        return f"{t.name} is single-region ({t.home_region})"
    reasons = []
    if t.is_logging is False:
        reasons.append("is not logging")
    if t.management_events_all() is False:
        reasons.append("does not record all (read and write) management events")
    return f"{t.name} " + " and ".join(reasons)


@check("cloudtrail.multi-region-logging", needs=(TRAILS, TRAIL_STATUS, TRAIL_SELECTORS))
def multi_region_logging(inv: Inventory) -> Iterator[Finding]:
    """Without a logging multi-region trail recording all management events, activity in some region goes unseen."""
    trails = inv.cloudtrail.unique_trails()
    multi = [t for t in trails if t.multi_region]
    good = [t for t in multi if t.is_logging is True and t.management_events_all() is True]
    evidence: dict[str, Any] = {"trails": [_summary(t) for t in trails]}
    if good:
        names = ", ".join(f"{t.name} ({t.home_region})" for t in good)
        yield Finding.passed(inv.account(), f"multi-region trail {names} logs all management events",
                             evidence={**evidence, "satisfied_by": [t.arn for t in good]})
        return
    # A trail that might still qualify but whose status or selectors are unknown leaves the verdict open.
    unknown = [t for t in multi if t.is_logging is not False and t.management_events_all() is not False]
    if unknown:
        yield _undetermined(inv, unknown, evidence, "a multi-region trail logs all management events")
        return
    reason = "; ".join(_why_not(t) for t in trails) if trails else "no trail exists"
    yield Finding.failed(inv.account(), f"no multi-region trail logs all management events: {reason}",
                         evidence=evidence)


def _undetermined(inv: Inventory, unknown: list[Trail], evidence: dict[str, Any], what: str) -> Finding:
    gaps = [g for g in inv.gaps if g.dataset in (TRAIL_STATUS, TRAIL_SELECTORS)
            and g.resource_id in {t.arn for t in unknown}]
    why = [f"{t.name}: " + (next((g.describe() for g in gaps if g.resource_id == t.arn), "")
                            or f"home region {t.home_region} was not scanned") for t in unknown]
    finding = Finding.with_status(Status.ERROR, inv.account(), f"cannot tell whether {what}: " + "; ".join(why),
                                  evidence=evidence)
    return finding.model_copy(update={"gap": gaps[0]}) if gaps else finding


@check("cloudtrail.log-file-validation", needs=(TRAILS,))
def log_file_validation(inv: Inventory) -> Iterator[Finding]:
    """Digest files let you prove that delivered log files were not altered or deleted."""
    for t in inv.cloudtrail.unique_trails():
        on = t.log_file_validation
        yield Finding.of(t, passed=on, evidence={"home_region": t.home_region, "multi_region": t.multi_region},
                         message=f"trail {t.name} log file validation is {'enabled' if on else 'disabled'}")


@check("cloudtrail.kms-encryption", needs=(TRAILS,))
def kms_encryption(inv: Inventory) -> Iterator[Finding]:
    """SSE-KMS adds a key policy between a reader of the log bucket and the logs themselves."""
    for t in inv.cloudtrail.unique_trails():
        yield Finding.of(t, passed=bool(t.kms_key_id),
                         evidence={"kms_key_id": t.kms_key_id, "s3_bucket": t.s3_bucket},
                         message=f"trail {t.name} logs are encrypted with KMS key {t.kms_key_id}" if t.kms_key_id
                         else f"trail {t.name} logs are not encrypted with a KMS key (SSE-S3 only)")


@check("cloudtrail.cloudwatch-logs", needs=(TRAILS,))
def cloudwatch_logs(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Every metric-filter alarm depends on the multi-region trail delivering to CloudWatch Logs."""
    now = cfg.clock()
    for t in inv.cloudtrail.unique_trails():
        if not t.multi_region:
            continue
        if not t.cloudwatch_log_group_arn:
            yield Finding.failed(t, f"multi-region trail {t.name} does not deliver to CloudWatch Logs",
                                 evidence={"home_region": t.home_region})
            continue
        # Delivery freshness only warns (checklist WARN), so an unreadable status does not block the verdict.
        last = t.latest_cloudwatch_delivery
        warnings = []
        if t.is_logging is None:
            delivered = "unknown (trail status not read)"
        elif last is None:
            delivered = "none reported"
            warnings.append("no CloudWatch Logs delivery reported")
        else:
            delivered = last.isoformat()
            if now - last > CLOUDWATCH_DELIVERY_MAX_AGE:
                warnings.append(f"last CloudWatch Logs delivery is older than 24 h ({delivered})")
        if t.latest_cloudwatch_delivery_error:
            warnings.append(f"delivery error: {t.latest_cloudwatch_delivery_error}")
        msg = f"multi-region trail {t.name} delivers to {t.cloudwatch_log_group_arn}"
        yield Finding.passed(t, msg + (f" (warning: {'; '.join(warnings)})" if warnings else ""),
                             evidence={"log_group_arn": t.cloudwatch_log_group_arn, "latest_delivery": delivered,
                                       "warnings": warnings})


@check("cloudtrail.org-trail", needs=(ORG, TRAILS, TRAIL_STATUS))
def org_trail(inv: Inventory) -> Iterator[Finding]:
    """An organization trail logs every member account, including accounts whose owners would switch a trail off.

    Seen from a member account the trail belongs to the management account; it is still visible (shadow listing)
    and its status is read in its home region.
    """
    org = inv.organizations
    if org.in_organization is None:
        return  # DescribeOrganization could not be read: the runner reports that gap as ERROR
    if not org.in_organization:
        yield Finding.with_status(Status.NOT_APPLICABLE, inv.account(), "the account is not in an AWS Organization")
        return
    trails = inv.cloudtrail.unique_trails()
    candidates = [t for t in trails if t.organization_trail and t.multi_region]
    evidence: dict[str, Any] = {"trails": [{**_summary(t), "trail_account": t.account_id} for t in trails]}
    good = [t for t in candidates if t.is_logging is True]
    if good:
        names = ", ".join(f"{t.name} ({t.home_region}, account {t.account_id})" for t in good)
        yield Finding.passed(inv.account(), f"organization trail {names} is multi-region and logging",
                             evidence={**evidence, "satisfied_by": [t.arn for t in good]})
        return
    unknown = [t for t in candidates if t.is_logging is None]
    if unknown:
        yield _undetermined(inv, unknown, evidence, "the organization trail is logging")
        return
    if candidates:
        reason = "; ".join(f"{t.name} is not logging" for t in candidates)
    else:
        org_single = [t.name for t in trails if t.organization_trail]
        reason = (f"organization trail {', '.join(org_single)} is single-region" if org_single
                  else "no organization trail is visible from this account")
    yield Finding.failed(inv.account(), f"no multi-region organization trail is logging: {reason}",
                         evidence=evidence)


@check("cloudtrail.s3-data-events-write", needs=(TRAILS, TRAIL_STATUS, TRAIL_SELECTORS))
def s3_data_events_write(inv: Inventory) -> Iterator[Finding]:
    """Object-level write events (PutObject, DeleteObject) show who changed or destroyed data in any bucket."""
    yield _s3_data_events(inv, read_only=False)


@check("cloudtrail.s3-data-events-read", needs=(TRAILS, TRAIL_STATUS, TRAIL_SELECTORS))
def s3_data_events_read(inv: Inventory) -> Iterator[Finding]:
    """Object-level read events (GetObject) are the only record of which data was read, e.g. in an exfiltration."""
    yield _s3_data_events(inv, read_only=True)


def _s3_data_events(inv: Inventory, read_only: bool) -> Finding:
    kind = "read" if read_only else "write"
    trails = inv.cloudtrail.unique_trails()
    multi = [t for t in trails if t.multi_region]
    coverage = {t.arn: t.s3_object_events(read_only) for t in multi}
    evidence: dict[str, Any] = {"trails": [{**_summary(t), f"s3_{kind}_events_all_buckets": _known(coverage[t.arn][0])
                                            if t.multi_region else False} for t in trails]}
    good = [t for t in multi if t.is_logging is True and coverage[t.arn][0] is True]
    if good:
        warnings = [f"{t.name} excludes {x}" for t in good for x in coverage[t.arn][1]]
        msg = f"multi-region trail {good[0].name} logs S3 object-level {kind} events for all buckets"
        return Finding.passed(inv.account(), msg + (f" (warning: {'; '.join(warnings)})" if warnings else ""),
                              evidence={**evidence, "satisfied_by": [t.arn for t in good], "warnings": warnings})
    unknown = [t for t in multi if t.is_logging is not False and coverage[t.arn][0] is not False]
    if unknown:
        return _undetermined(inv, unknown, evidence, f"a multi-region trail logs S3 object-level {kind} events")
    reasons = [f"{t.name} is single-region" if not t.multi_region else f"{t.name} is not logging"
               if t.is_logging is False else f"{t.name} does not select {kind} data events for all S3 objects"
               for t in trails]
    return Finding.failed(inv.account(), f"no logging multi-region trail records S3 object-level {kind} events: "
                          + ("; ".join(reasons) if reasons else "no trail exists"), evidence=evidence)
