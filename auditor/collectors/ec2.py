"""EC2 and VPC: security groups with their rules, instances, volumes, VPCs, flow logs, ENIs, EBS defaults,
and the VPC layout (subnets, route tables, network ACLs, endpoints, peerings, prefix lists; see ec2_vpc.py).

Each dataset is read on its own, so a denial of one API only turns the checks that need it into ERROR.
`ec2.ebs_default_key` and `ec2.metadata_defaults` are enrichment: no check lists them in `needs`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.collectors import ec2_vpc as vpc
from auditor.collectors.ec2_vpc import (
    NetworkAcl,
    PeeringConnection,
    PrefixList,
    RouteTable,
    Subnet,
    VpcEndpoint,
)
from auditor.models import Frozen, Resource
from auditor.network import normalize_protocol

_tags = vpc.tags_of
_res = vpc.resource_fields


class SgRule(Frozen):
    """One entry of DescribeSecurityGroupRules: exactly one source (CIDR, prefix list or group)."""

    rule_id: str
    egress: bool
    protocol: str  # normalized: tcp, udp, icmp, -1 ...
    from_port: int | None = None
    to_port: int | None = None
    cidr_ipv4: str | None = None
    cidr_ipv6: str | None = None
    prefix_list_id: str | None = None
    referenced_group_id: str | None = None
    description: str = ""
    tags: dict[str, str] = {}

    @property
    def cidr(self) -> str | None:
        return self.cidr_ipv4 or self.cidr_ipv6


class SecurityGroup(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::SecurityGroup"
    name: str = ""
    description: str = ""
    vpc_id: str = ""
    tags: dict[str, str] = {}
    rules: list[SgRule] = []

    @property
    def ingress(self) -> list[SgRule]:
        return [r for r in self.rules if not r.egress]

    @property
    def egress(self) -> list[SgRule]:
        return [r for r in self.rules if r.egress]


class Instance(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::Instance"
    state: str = ""
    http_tokens: str = ""
    http_endpoint: str = ""
    instance_profile_arn: str | None = None
    public_ip: str | None = None
    vpc_id: str | None = None
    subnet_id: str | None = None
    image_id: str = ""
    security_group_ids: list[str] = []
    ipv6_addresses: list[str] = []
    launch_time: datetime | None = None
    tags: dict[str, str] = {}


class Volume(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::Volume"
    encrypted: bool
    kms_key_id: str | None = None
    state: str = ""
    size_gib: int = 0
    attached_to: list[str] = []
    tags: dict[str, str] = {}


class Vpc(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::VPC"
    is_default: bool = False
    cidr: str = ""
    state: str = ""
    tags: dict[str, str] = {}


class FlowLog(Frozen):
    id: str
    region: str
    resource_id: str
    status: str = ""
    traffic_type: str = ""
    destination_type: str = ""
    destination: str = ""
    deliver_status: str = ""


class NetworkInterface(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::NetworkInterface"
    vpc_id: str = ""
    subnet_id: str = ""
    interface_type: str = ""
    status: str = ""
    description: str = ""
    security_group_ids: list[str] = []
    instance_id: str | None = None
    requester_managed: bool = False


class EbsEncryptionDefault(Frozen):
    region: str
    enabled: bool


class EbsDefaultKey(Frozen):
    region: str
    kms_key_id: str


class MetadataDefaults(Frozen):
    region: str
    http_tokens: str | None = None  # None: no account default set (instances use the AMI's/launch's value)


class Ec2Section(Section):
    security_groups: list[SecurityGroup] = []
    instances: list[Instance] = []
    volumes: list[Volume] = []
    vpcs: list[Vpc] = []
    flow_logs: list[FlowLog] = []
    network_interfaces: list[NetworkInterface] = []
    ebs_encryption: list[EbsEncryptionDefault] = []
    ebs_default_keys: list[EbsDefaultKey] = []
    metadata_defaults: list[MetadataDefaults] = []
    subnets: list[Subnet] = []
    route_tables: list[RouteTable] = []
    network_acls: list[NetworkAcl] = []
    vpc_endpoints: list[VpcEndpoint] = []
    peering_connections: list[PeeringConnection] = []
    prefix_lists: list[PrefixList] = []


@collector("ec2", section=Ec2Section, regional=True, datasets={
    "ec2.security_groups": ("ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"),
    "ec2.instances": ("ec2:DescribeInstances",),
    "ec2.volumes": ("ec2:DescribeVolumes",),
    "ec2.vpcs": ("ec2:DescribeVpcs",),
    "ec2.flow_logs": ("ec2:DescribeFlowLogs",),
    "ec2.network_interfaces": ("ec2:DescribeNetworkInterfaces",),
    "ec2.ebs_encryption": ("ec2:GetEbsEncryptionByDefault",),
    "ec2.ebs_default_key": ("ec2:GetEbsDefaultKmsKeyId",),
    "ec2.metadata_defaults": ("ec2:GetInstanceMetadataDefaults",),
    vpc.SUBNETS: ("ec2:DescribeSubnets",),
    vpc.ROUTE_TABLES: ("ec2:DescribeRouteTables",),
    vpc.NETWORK_ACLS: ("ec2:DescribeNetworkAcls",),
    vpc.VPC_ENDPOINTS: ("ec2:DescribeVpcEndpoints",),
    vpc.PEERINGS: ("ec2:DescribeVpcPeeringConnections",),
    vpc.PREFIX_LISTS: ("ec2:DescribeManagedPrefixLists", "ec2:GetManagedPrefixListEntries"),
})
def collect_ec2(ctx: CollectContext) -> Ec2Section:
    ec2 = ctx.client()
    ebs, keys = _ebs_defaults(ctx, ec2)
    instances = _instances(ctx, ec2)
    # The account's metadata default is only reported beside instances: skip the call in empty regions.
    defaults = _metadata_defaults(ctx, ec2) if instances else []
    return Ec2Section(
        security_groups=_security_groups(ctx, ec2), instances=instances, volumes=_volumes(ctx, ec2),
        vpcs=_vpcs(ctx, ec2), flow_logs=_flow_logs(ctx, ec2), network_interfaces=_interfaces(ctx, ec2),
        ebs_encryption=ebs, ebs_default_keys=keys, metadata_defaults=defaults,
        subnets=vpc.read_subnets(ctx, ec2), route_tables=vpc.read_route_tables(ctx, ec2),
        network_acls=vpc.read_network_acls(ctx, ec2), vpc_endpoints=vpc.read_vpc_endpoints(ctx, ec2),
        peering_connections=vpc.read_peerings(ctx, ec2), prefix_lists=vpc.read_prefix_lists(ctx, ec2))


def _security_groups(ctx: CollectContext, ec2: Any) -> list[SecurityGroup]:
    groups = ctx.paginate("ec2.security_groups", ec2, "describe_security_groups", "SecurityGroups")
    if groups is None:
        return []
    # One paginated call per region for every rule: it carries rule ids and rule tags.
    raw_rules = ctx.paginate("ec2.security_groups", ec2, "describe_security_group_rules", "SecurityGroupRules")
    if raw_rules is None:
        return []
    by_group: dict[str, list[SgRule]] = {}
    for r in raw_rules:
        by_group.setdefault(r["GroupId"], []).append(SgRule(
            rule_id=r["SecurityGroupRuleId"], egress=bool(r.get("IsEgress")),
            protocol=normalize_protocol(r.get("IpProtocol")), from_port=r.get("FromPort"), to_port=r.get("ToPort"),
            cidr_ipv4=r.get("CidrIpv4"), cidr_ipv6=r.get("CidrIpv6"), prefix_list_id=r.get("PrefixListId"),
            referenced_group_id=(r.get("ReferencedGroupInfo") or {}).get("GroupId"),
            description=r.get("Description") or "", tags=_tags(r.get("Tags"))))
    out = []
    for g in groups:
        gid = g["GroupId"]
        out.append(SecurityGroup(
            **_res(ctx, "security-group", gid), name=g.get("GroupName", ""), description=g.get("Description", ""),
            vpc_id=g.get("VpcId", ""), tags=_tags(g.get("Tags")),
            rules=sorted(by_group.get(gid, []), key=lambda x: (x.egress, x.rule_id))))
    return sorted(out, key=lambda x: x.id)


def _instances(ctx: CollectContext, ec2: Any) -> list[Instance]:
    reservations = ctx.paginate("ec2.instances", ec2, "describe_instances", "Reservations")
    if reservations is None:
        return []
    out = []
    for res in reservations:
        for i in res.get("Instances", []):
            meta = i.get("MetadataOptions") or {}
            groups = {g["GroupId"] for g in i.get("SecurityGroups", [])}
            groups |= {g["GroupId"] for eni in i.get("NetworkInterfaces", []) for g in eni.get("Groups", [])}
            out.append(Instance(
                **_res(ctx, "instance", i["InstanceId"]), state=(i.get("State") or {}).get("Name", ""),
                http_tokens=meta.get("HttpTokens", ""), http_endpoint=meta.get("HttpEndpoint", ""),
                instance_profile_arn=(i.get("IamInstanceProfile") or {}).get("Arn"),
                public_ip=i.get("PublicIpAddress"), vpc_id=i.get("VpcId"), subnet_id=i.get("SubnetId"),
                image_id=i.get("ImageId", ""), security_group_ids=sorted(groups), launch_time=i.get("LaunchTime"),
                ipv6_addresses=sorted({a["Ipv6Address"] for eni in i.get("NetworkInterfaces", [])
                                       for a in eni.get("Ipv6Addresses", []) if a.get("Ipv6Address")}),
                tags=_tags(i.get("Tags"))))
    return sorted(out, key=lambda x: x.id)


def _volumes(ctx: CollectContext, ec2: Any) -> list[Volume]:
    volumes = ctx.paginate("ec2.volumes", ec2, "describe_volumes", "Volumes")
    if volumes is None:
        return []
    return sorted((Volume(**_res(ctx, "volume", v["VolumeId"]), encrypted=bool(v.get("Encrypted")),
                          kms_key_id=v.get("KmsKeyId"), state=v.get("State", ""), size_gib=v.get("Size", 0),
                          attached_to=sorted(a["InstanceId"] for a in v.get("Attachments", []) if "InstanceId" in a),
                          tags=_tags(v.get("Tags")))
                   for v in volumes), key=lambda x: x.id)


def _vpcs(ctx: CollectContext, ec2: Any) -> list[Vpc]:
    vpcs = ctx.paginate("ec2.vpcs", ec2, "describe_vpcs", "Vpcs")
    if vpcs is None:
        return []
    return sorted((Vpc(**_res(ctx, "vpc", v["VpcId"]), is_default=bool(v.get("IsDefault")),
                       cidr=v.get("CidrBlock", ""), state=v.get("State", ""), tags=_tags(v.get("Tags")))
                   for v in vpcs), key=lambda x: x.id)


def _flow_logs(ctx: CollectContext, ec2: Any) -> list[FlowLog]:
    logs = ctx.paginate("ec2.flow_logs", ec2, "describe_flow_logs", "FlowLogs")
    if logs is None:
        return []
    return sorted((FlowLog(id=f["FlowLogId"], region=ctx.region, resource_id=f.get("ResourceId", ""),
                           status=f.get("FlowLogStatus", ""), traffic_type=f.get("TrafficType", ""),
                           destination_type=f.get("LogDestinationType", ""),
                           destination=f.get("LogDestination") or f.get("LogGroupName") or "",
                           deliver_status=f.get("DeliverLogsStatus", ""))
                   for f in logs), key=lambda x: x.id)


def _interfaces(ctx: CollectContext, ec2: Any) -> list[NetworkInterface]:
    enis = ctx.paginate("ec2.network_interfaces", ec2, "describe_network_interfaces", "NetworkInterfaces")
    if enis is None:
        return []
    return sorted((NetworkInterface(
        **_res(ctx, "network-interface", n["NetworkInterfaceId"]), vpc_id=n.get("VpcId", ""),
        subnet_id=n.get("SubnetId", ""), interface_type=n.get("InterfaceType", ""), status=n.get("Status", ""),
        description=n.get("Description", ""), security_group_ids=sorted(g["GroupId"] for g in n.get("Groups", [])),
        instance_id=(n.get("Attachment") or {}).get("InstanceId"),
        requester_managed=bool(n.get("RequesterManaged"))) for n in enis), key=lambda x: x.id)


def _ebs_defaults(ctx: CollectContext, ec2: Any) -> tuple[list[EbsEncryptionDefault], list[EbsDefaultKey]]:
    resp = ctx.call("ec2.ebs_encryption", ec2, "get_ebs_encryption_by_default")
    if resp is None:
        return [], []
    enabled = bool(resp.get("EbsEncryptionByDefault"))
    keys: list[EbsDefaultKey] = []
    if enabled:  # the default key only matters when the default applies
        key = ctx.call("ec2.ebs_default_key", ec2, "get_ebs_default_kms_key_id")
        if key is not None and key.get("KmsKeyId"):
            keys.append(EbsDefaultKey(region=ctx.region, kms_key_id=key["KmsKeyId"]))
    return [EbsEncryptionDefault(region=ctx.region, enabled=enabled)], keys


def _metadata_defaults(ctx: CollectContext, ec2: Any) -> list[MetadataDefaults]:
    resp = ctx.call("ec2.metadata_defaults", ec2, "get_instance_metadata_defaults")
    if resp is None:
        return []
    return [MetadataDefaults(region=ctx.region, http_tokens=(resp.get("AccountLevel") or {}).get("HttpTokens"))]
