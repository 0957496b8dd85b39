"""IAM Access Analyzer, per region: analyzers, and the ACTIVE findings of each active external-access analyzer.

moto does not implement this service (HTTP 404 "Not yet implemented"): in tests the API is answered with
recorded responses, in the demo it shows as "could not read".
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

ANALYZERS = "accessanalyzer.analyzers"
FINDINGS = "accessanalyzer.findings"

EXTERNAL_ACCESS = ("ACCOUNT", "ORGANIZATION")  # the types ListFindings answers for (unused/internal use V2)


class Analyzer(Resource):
    resource_type: ClassVar[str] = "AWS::AccessAnalyzer::Analyzer"
    name: str = ""
    type: str = ""  # ACCOUNT | ORGANIZATION | ACCOUNT_UNUSED_ACCESS | ...
    status: str = ""  # ACTIVE | CREATING | DISABLED | FAILED
    status_reason: str = ""

    @property
    def external_access(self) -> bool:
        return self.type in EXTERNAL_ACCESS

    @property
    def active(self) -> bool:
        return self.status == "ACTIVE"


class AnalyzerFinding(Frozen):
    id: str
    region: str
    analyzer_arn: str
    resource: str = ""  # the resource's ARN (or name, for some types)
    resource_type: str = ""  # e.g. AWS::S3::Bucket, AWS::IAM::Role
    owner_account: str = ""
    principal: dict[str, str] = {}  # e.g. {"AWS": "111122223333"} or {"AWS": "*"}
    actions: list[str] = []
    is_public: bool | None = None
    conditions: dict[str, str] = {}
    sources: list[str] = []  # how access is granted: POLICY, BUCKET_ACL, S3_ACCESS_POINT ...
    status: str = ""
    error: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class AccessAnalyzerSection(Section):
    analyzers: list[Analyzer] = []
    findings: list[AnalyzerFinding] = []


@collector("accessanalyzer", section=AccessAnalyzerSection, regional=True, datasets={
    ANALYZERS: ("access-analyzer:ListAnalyzers",),
    FINDINGS: ("access-analyzer:ListFindings",),
})
def collect_access_analyzer(ctx: CollectContext) -> AccessAnalyzerSection:
    client = ctx.client()
    listed = ctx.paginate(ANALYZERS, client, "list_analyzers", "analyzers")
    if listed is None:
        return AccessAnalyzerSection()
    analyzers = sorted((Analyzer(arn=a["arn"], id=a.get("name") or a["arn"].rsplit("/", 1)[-1], region=ctx.region,
                                 account_id=ctx.account_id, name=a.get("name", ""), type=a.get("type", ""),
                                 status=a.get("status", ""),
                                 status_reason=str((a.get("statusReason") or {}).get("code", "")))
                        for a in listed), key=lambda a: a.arn)

    def active_findings(analyzer: Analyzer) -> list[AnalyzerFinding]:
        # No resource_id on a failure: an unread analyzer leaves the whole region's verdict unknown.
        got = ctx.paginate(FINDINGS, client, "list_findings", "findings", analyzerArn=analyzer.arn,
                           filter={"status": {"eq": ["ACTIVE"]}})
        return [_finding(f, analyzer, ctx.region) for f in got or []]

    readable = [a for a in analyzers if a.active and a.external_access]
    findings = [f for got in ctx.map(active_findings, readable) for f in got]
    return AccessAnalyzerSection(analyzers=analyzers, findings=sorted(findings, key=lambda f: (f.analyzer_arn, f.id)))


def _finding(raw: dict[str, Any], analyzer: Analyzer, region: str) -> AnalyzerFinding:
    return AnalyzerFinding(
        id=raw["id"], region=region, analyzer_arn=analyzer.arn, resource=raw.get("resource", ""),
        resource_type=raw.get("resourceType", ""), owner_account=raw.get("resourceOwnerAccount", ""),
        principal={str(k): str(v) for k, v in (raw.get("principal") or {}).items()},
        actions=sorted(raw.get("action") or []), is_public=raw.get("isPublic"),
        conditions={str(k): str(v) for k, v in (raw.get("condition") or {}).items()},
        sources=sorted(str((s or {}).get("type", "")) for s in raw.get("sources") or []),
        status=raw.get("status", ""), error=raw.get("error", ""), created_at=raw.get("createdAt"),
        updated_at=raw.get("updatedAt"))
