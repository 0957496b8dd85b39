"""Systems Manager: managed nodes (DescribeInstanceInformation) and parameter metadata (DescribeParameters).

Parameter values are never read: GetParameter* are refused by the guard, and DescribeParameters carries
names, types and keys only. Patch compliance lives in the "ssm_patch" collector.
"""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

MANAGED = "ssm.managed_instances"
PARAMETERS = "ssm.parameters"


class ManagedNode(Frozen):
    id: str  # i-... for EC2 instances, mi-... for hybrid nodes
    region: str
    ping_status: str = ""  # Online / ConnectionLost / Inactive
    resource_type: str = ""
    platform: str = ""
    agent_version: str = ""
    last_ping: datetime | None = None


class Parameter(Resource):
    resource_type: ClassVar[str] = "AWS::SSM::Parameter"
    name: str = ""
    type: str = ""  # String / StringList / SecureString
    tier: str = ""
    key_id: str = ""
    last_modified: datetime | None = None


class SsmSection(Section):
    managed_nodes: list[ManagedNode] = []
    parameters: list[Parameter] = []


@collector("ssm", section=SsmSection, regional=True, datasets={
    MANAGED: ("ssm:DescribeInstanceInformation",),
    PARAMETERS: ("ssm:DescribeParameters",),
})
def collect_ssm(ctx: CollectContext) -> SsmSection:
    ssm = ctx.client()
    nodes = ctx.paginate(MANAGED, ssm, "describe_instance_information", "InstanceInformationList")
    params = ctx.paginate(PARAMETERS, ssm, "describe_parameters", "Parameters")
    return SsmSection(
        managed_nodes=sorted((ManagedNode(id=n["InstanceId"], region=ctx.region, ping_status=n.get("PingStatus", ""),
                                          resource_type=n.get("ResourceType", ""),
                                          platform=n.get("PlatformName") or n.get("PlatformType") or "",
                                          agent_version=n.get("AgentVersion", ""), last_ping=n.get("LastPingDateTime"))
                              for n in nodes or []), key=lambda n: n.id),
        parameters=sorted((Parameter(arn=ctx.arn("ssm", "parameter/" + p["Name"].lstrip("/"), ctx.region),
                                     id=p["Name"], region=ctx.region, account_id=ctx.account_id, name=p["Name"],
                                     type=p.get("Type", ""), tier=p.get("Tier", ""), key_id=p.get("KeyId", ""),
                                     last_modified=p.get("LastModifiedDate"))
                           for p in params or []), key=lambda p: p.arn))
