"""GuardDuty detectors per region with their status, data sources and features; their unarchived high-severity
findings; and who administers them (an administrator account, or the members this account administers).

Findings and administration are separate datasets so that failing to read them never blinds the detector verdict.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Frozen, Resource

DETECTORS = "guardduty.detectors"
FINDINGS = "guardduty.findings"
ADMINISTRATION = "guardduty.administration"
MEMBERS = "guardduty.members"  # optional: needed only when no administrator manages this account
ORG_ADMINS = "guardduty.org_admins"  # optional evidence: only the management account may list delegated admins

HIGH_SEVERITY = 7  # GuardDuty's own bands: 7.0-8.9 high, 9.0-10.0 critical
_GET_FINDINGS_BATCH = 50  # GetFindings accepts at most 50 ids
_MEMBER_DENIED = ("AccessDeniedException", "AccessDenied", "BadRequestException")


class Detector(Resource):
    resource_type: ClassVar[str] = "AWS::GuardDuty::Detector"
    status: str | None = None  # ENABLED / DISABLED; None when GetDetector could not be read (see gaps)
    created_at: str = ""
    finding_publishing_frequency: str = ""
    data_sources: dict[str, str] = {}  # "CloudTrail" / "DNSLogs" / "FlowLogs" / "S3Logs" / "Kubernetes.AuditLogs"
    features: dict[str, str] = {}  # feature name -> ENABLED / DISABLED


class GuardDutyFinding(Resource):
    resource_type: ClassVar[str] = "AWS::GuardDuty::Finding"
    detector_id: str = ""
    type: str = ""
    title: str = ""
    severity: float = 0.0
    created_at: datetime | None = None  # first seen
    updated_at: datetime | None = None  # last seen
    archived: bool = False
    count: int = 0
    resource_kind: str = ""  # Resource.ResourceType (Instance, AccessKey, S3Bucket, ...)


class Administration(Frozen):
    """Who manages one region's detector. Fields stay None when the read was not needed or failed (see gaps)."""

    region: str
    detector_id: str
    administrator_id: str | None = None
    relationship: str | None = None  # Enabled / Invited / Removed / ...
    member_count: int | None = None  # associated members this account administers
    org_admins: list[str] | None = None  # delegated admins (ListOrganizationAdminAccounts); None: not readable


class GuardDutySection(Section):
    detectors: list[Detector] = []
    findings: list[GuardDutyFinding] = []
    administration: list[Administration] = []


def _statuses(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten DataSources ({'S3Logs': {'Status': 'ENABLED'}, 'Kubernetes': {'AuditLogs': {...}}})."""
    out: dict[str, str] = {}
    for key, val in sorted(tree.items()):
        if not isinstance(val, dict):
            continue
        if "Status" in val:
            out[prefix + key] = str(val["Status"])
        else:
            out.update(_statuses(val, f"{prefix}{key}."))
    return out


@collector("guardduty", section=GuardDutySection, regional=True, datasets={
    DETECTORS: ("guardduty:ListDetectors", "guardduty:GetDetector"),
    FINDINGS: ("guardduty:ListFindings", "guardduty:GetFindings"),
    ADMINISTRATION: ("guardduty:GetAdministratorAccount",),
    MEMBERS: ("guardduty:ListMembers",),
    ORG_ADMINS: ("guardduty:ListOrganizationAdminAccounts",),
})
def collect_guardduty(ctx: CollectContext) -> GuardDutySection:
    gd = ctx.client()
    ids = ctx.paginate(DETECTORS, gd, "list_detectors", "DetectorIds")
    if ids is None:
        return GuardDutySection()

    def detail(det_id: str) -> Detector:
        arn = ctx.arn("guardduty", f"detector/{det_id}", ctx.region)
        # No resource_id: a region holds one detector and the region's verdict rests on it,
        # so an unreadable detector must make the whole region ERROR.
        resp = ctx.call(DETECTORS, gd, "get_detector", DetectorId=det_id)
        if resp is None:
            return Detector(arn=arn, id=det_id, region=ctx.region, account_id=ctx.account_id)
        return Detector(arn=arn, id=det_id, region=ctx.region, account_id=ctx.account_id,
                        status=resp.get("Status"), created_at=str(resp.get("CreatedAt", "")),
                        finding_publishing_frequency=resp.get("FindingPublishingFrequency", ""),
                        data_sources=_statuses(resp.get("DataSources") or {}),
                        features={f["Name"]: f.get("Status", "") for f in resp.get("Features") or [] if "Name" in f})

    detectors = ctx.map(detail, sorted(ids))
    findings = [f for det_id in sorted(ids) for f in _high_findings(ctx, gd, det_id)]
    admin = [_administration(ctx, gd, det_id) for det_id in sorted(ids)]
    return GuardDutySection(detectors=detectors, findings=sorted(findings, key=lambda f: f.arn), administration=admin)


def _high_findings(ctx: CollectContext, gd: Any, det_id: str) -> list[GuardDutyFinding]:
    criteria = {"Criterion": {"severity": {"GreaterThanOrEqual": HIGH_SEVERITY},
                              "service.archived": {"Equals": ["false"]}}}
    found = ctx.paginate(FINDINGS, gd, "list_findings", "FindingIds", DetectorId=det_id, FindingCriteria=criteria)
    if not found:
        return []
    batches = [found[i:i + _GET_FINDINGS_BATCH] for i in range(0, len(found), _GET_FINDINGS_BATCH)]
    got = ctx.map(lambda batch: ctx.call(FINDINGS, gd, "get_findings", DetectorId=det_id, FindingIds=batch), batches)
    return [_finding(ctx, det_id, f) for resp in got if resp for f in resp.get("Findings", [])]


def _finding(ctx: CollectContext, det_id: str, f: dict[str, Any]) -> GuardDutyFinding:
    service = f.get("Service") or {}
    return GuardDutyFinding(
        arn=f["Arn"], id=f["Id"], region=ctx.region, account_id=f.get("AccountId", ctx.account_id),
        detector_id=det_id, type=f.get("Type", ""), title=f.get("Title", ""), severity=float(f.get("Severity", 0)),
        created_at=_when(f.get("CreatedAt")), updated_at=_when(f.get("UpdatedAt")),
        archived=bool(service.get("Archived")), count=int(service.get("Count") or 0),
        resource_kind=(f.get("Resource") or {}).get("ResourceType", ""))


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _administration(ctx: CollectContext, gd: Any, det_id: str) -> Administration:
    out = Administration(region=ctx.region, detector_id=det_id)
    resp = ctx.call(ADMINISTRATION, gd, "get_administrator_account", DetectorId=det_id)
    if resp is None:
        return out
    admin = resp.get("Administrator") or {}
    out = out.model_copy(update={"administrator_id": admin.get("AccountId"),
                                 "relationship": admin.get("RelationshipStatus")})
    if admin.get("RelationshipStatus") == "Enabled":
        return out  # managed by an administrator: nothing more to learn
    members = ctx.paginate(MEMBERS, gd, "list_members", "Members", DetectorId=det_id, OnlyAssociated="true")
    # Only the management account may list delegated admins; a member's refusal is "not known here", not a gap.
    admins = ctx.call(ORG_ADMINS, gd, "list_organization_admin_accounts", absent=_MEMBER_DENIED)
    return out.model_copy(update={
        "member_count": None if members is None else len(members),
        "org_admins": None if admins is None or admins is NOT_FOUND else sorted(
            a["AdminAccountId"] for a in admins.get("AdminAccounts", []) if a.get("AdminStatus") == "ENABLED")})
