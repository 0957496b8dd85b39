"""Security Hub per region: the hub (absent when the account is not subscribed) and its enabled standards.

InvalidAccessException from DescribeHub means "not subscribed in this region": that is data, not a gap.
Enabled standards are a separate, optional dataset: the verdict rests on the hub alone, and moto does not
implement GetEnabledStandards, so failing to read them must not turn the hub verdict into ERROR.
"""
from __future__ import annotations

from typing import ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Resource

HUB = "securityhub.hub"
STANDARDS = "securityhub.standards"


class Hub(Resource):
    resource_type: ClassVar[str] = "AWS::SecurityHub::Hub"
    subscribed_at: str = ""
    auto_enable_controls: bool | None = None
    control_finding_generator: str = ""


class EnabledStandard(Resource):
    resource_type: ClassVar[str] = "AWS::SecurityHub::Standard"
    standards_arn: str = ""
    status: str = ""  # PENDING / READY / FAILED / DELETING / INCOMPLETE


class SecurityHubSection(Section):
    hubs: list[Hub] = []
    standards: list[EnabledStandard] = []


@collector("securityhub", section=SecurityHubSection, regional=True, datasets={
    HUB: ("securityhub:DescribeHub",),
    STANDARDS: ("securityhub:GetEnabledStandards",),
})
def collect_securityhub(ctx: CollectContext) -> SecurityHubSection:
    sh = ctx.client()
    resp = ctx.call(HUB, sh, "describe_hub", absent=("InvalidAccessException",))
    if resp is None or resp is NOT_FOUND:
        return SecurityHubSection()
    hub = Hub(arn=resp["HubArn"], id=resp["HubArn"].rsplit("/", 1)[-1], region=ctx.region,
              account_id=ctx.account_id, subscribed_at=str(resp.get("SubscribedAt", "")),
              auto_enable_controls=resp.get("AutoEnableControls"),
              control_finding_generator=resp.get("ControlFindingGenerator", ""))
    listed = ctx.paginate(STANDARDS, sh, "get_enabled_standards", "StandardsSubscriptions")
    standards = [EnabledStandard(arn=s["StandardsSubscriptionArn"], id=s["StandardsArn"].split(":", 5)[-1],
                                 region=ctx.region, account_id=ctx.account_id, standards_arn=s["StandardsArn"],
                                 status=s.get("StandardsStatus", ""))
                 for s in sorted(listed or [], key=lambda s: s["StandardsSubscriptionArn"])]
    return SecurityHubSection(hubs=[hub], standards=standards)
