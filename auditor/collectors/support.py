"""AWS Support plan and Trusted Advisor security checks, read once per scan from the Support endpoint.

Only Business, Enterprise On-Ramp and Enterprise plans may call the Support API: SubscriptionRequiredException
is the answer of a Basic or Developer plan, which is data (`premium=False`), not a gap.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Resource

PLAN = "support.plan"
TRUSTED_ADVISOR = "trustedadvisor.checks"

_SUBSCRIPTION_REQUIRED = ("SubscriptionRequiredException",)
# The Support API has one endpoint per partition.
_SUPPORT_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}


class TrustedAdvisorCheck(Resource):
    resource_type: ClassVar[str] = "AWS::TrustedAdvisor::Check"
    name: str = ""
    category: str = ""
    status: str | None = None  # ok / warning / error / not_available; None: no summary returned
    flagged: int = 0
    processed: int = 0
    refreshed_at: str = ""


class SupportSection(Section):
    premium: bool | None = None  # None: DescribeSeverityLevels could not be read (see gaps)
    severity_levels: list[str] = []
    trusted_advisor_available: bool | None = None  # False: Basic/Developer plan (SubscriptionRequiredException)
    checks: list[TrustedAdvisorCheck] = []  # security-category checks with their summary


def support_region(partition: str) -> str:
    return _SUPPORT_REGION.get(partition, "us-east-1")


@collector("support", section=SupportSection, regional=False, datasets={
    PLAN: ("support:DescribeSeverityLevels",),
    TRUSTED_ADVISOR: ("support:DescribeTrustedAdvisorChecks", "support:DescribeTrustedAdvisorCheckSummaries"),
})
def collect_support(ctx: CollectContext) -> SupportSection:
    client = ctx.client("support", support_region(ctx.partition))
    levels = ctx.call(PLAN, client, "describe_severity_levels", absent=_SUBSCRIPTION_REQUIRED)
    plan: dict[str, Any] = {}
    if levels is NOT_FOUND:
        plan = {"premium": False}
    elif levels is not None:
        plan = {"premium": True, "severity_levels": sorted(s["code"] for s in levels.get("severityLevels", []))}
    return SupportSection(**plan, **_trusted_advisor(ctx, client))


def _trusted_advisor(ctx: CollectContext, client: Any) -> dict[str, Any]:
    listed = ctx.call(TRUSTED_ADVISOR, client, "describe_trusted_advisor_checks", language="en",
                      absent=_SUBSCRIPTION_REQUIRED)
    if listed is NOT_FOUND:
        return {"trusted_advisor_available": False}
    if listed is None:
        return {}
    security = sorted((c for c in listed.get("checks", []) if c.get("category") == "security"), key=lambda c: c["id"])
    if not security:
        return {"trusted_advisor_available": True}
    resp = ctx.call(TRUSTED_ADVISOR, client, "describe_trusted_advisor_check_summaries",
                    checkIds=[c["id"] for c in security], absent=_SUBSCRIPTION_REQUIRED)
    if resp is NOT_FOUND:
        return {"trusted_advisor_available": False}
    if resp is None:
        return {}
    summaries = {s["checkId"]: s for s in resp.get("summaries", [])}
    checks = []
    for c in security:
        s = summaries.get(c["id"], {})
        counts = s.get("resourcesSummary") or {}
        checks.append(TrustedAdvisorCheck(
            arn=f"arn:{ctx.partition}:trustedadvisor::{ctx.account_id}:check/{c['id']}", id=c["id"],
            account_id=ctx.account_id, name=c.get("name", ""), category=c.get("category", ""),
            status=s.get("status"), flagged=int(counts.get("resourcesFlagged") or 0),
            processed=int(counts.get("resourcesProcessed") or 0), refreshed_at=s.get("timestamp", "")))
    return {"trusted_advisor_available": True, "checks": checks}
