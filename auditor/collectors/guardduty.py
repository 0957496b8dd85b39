"""GuardDuty detectors per region with their status, data sources and features."""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource

DETECTORS = "guardduty.detectors"


class Detector(Resource):
    resource_type: ClassVar[str] = "AWS::GuardDuty::Detector"
    status: str | None = None  # ENABLED / DISABLED; None when GetDetector could not be read (see gaps)
    created_at: str = ""
    finding_publishing_frequency: str = ""
    data_sources: dict[str, str] = {}  # "CloudTrail" / "DNSLogs" / "FlowLogs" / "S3Logs" / "Kubernetes.AuditLogs"
    features: dict[str, str] = {}  # feature name -> ENABLED / DISABLED


class GuardDutySection(Section):
    detectors: list[Detector] = []


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

    return GuardDutySection(detectors=ctx.map(detail, sorted(ids)))
