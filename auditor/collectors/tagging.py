"""Tags of every resource the Resource Groups Tagging API knows (one paginated GetResources per region), and
CloudFormation stacks (DescribeStacks) for the infrastructure-as-code signal.

GetResources returns only resources that have (or had) tags: a resource it does not list carries no tags. The
tagging check enumerates resources from their own collectors and looks their tags up here.
"""
from __future__ import annotations

from typing import ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.collectors.ec2_vpc import tags_of
from auditor.models import Frozen, Resource

TAGGED_RESOURCES = "tagging.resources"
STACKS = "cloudformation.stacks"


class TaggedResource(Frozen):
    region: str
    arn: str
    tags: dict[str, str] = {}


class TaggingSection(Section):
    resources: list[TaggedResource] = []


@collector("tagging", service="resourcegroupstaggingapi", section=TaggingSection, regional=True, datasets={
    TAGGED_RESOURCES: ("tag:GetResources",),
})
def collect_tagging(ctx: CollectContext) -> TaggingSection:
    listed = ctx.paginate(TAGGED_RESOURCES, ctx.client(), "get_resources", "ResourceTagMappingList",
                          ResourcesPerPage=100)
    return TaggingSection(resources=sorted(
        (TaggedResource(region=ctx.region, arn=r["ResourceARN"], tags=tags_of(r.get("Tags"))) for r in listed or []),
        key=lambda r: r.arn))


class Stack(Resource):
    resource_type: ClassVar[str] = "AWS::CloudFormation::Stack"
    name: str
    status: str = ""
    status_reason: str = ""

    @property
    def failed(self) -> bool:
        return self.status.endswith("_FAILED") or "ROLLBACK" in self.status


class StacksSection(Section):
    stacks: list[Stack] = []


@collector("cloudformation_stacks", service="cloudformation", section=StacksSection, regional=True, datasets={
    STACKS: ("cloudformation:DescribeStacks",),
})
def collect_stacks(ctx: CollectContext) -> StacksSection:
    listed = ctx.paginate(STACKS, ctx.client(), "describe_stacks", "Stacks")
    return StacksSection(stacks=sorted(
        (Stack(arn=s["StackId"], id=s["StackName"], name=s["StackName"], region=ctx.region,
               account_id=s["StackId"].split(":")[4], status=s.get("StackStatus", ""),
               status_reason=s.get("StackStatusReason") or "") for s in listed or []),
        key=lambda s: s.arn))
