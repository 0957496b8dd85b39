from __future__ import annotations

import boto3
import pytest

import auditor.collectors.ec2  # noqa: F401 - registers the collector
from auditor.collectors import COLLECTORS, CollectContext
from auditor.collectors.ec2 import Ec2Section
from auditor.guard import is_read
from tests.conftest import ACCOUNT, deny

REGION = "us-east-1"


def _collect(session, region: str = REGION) -> tuple[Ec2Section, CollectContext]:
    spec = COLLECTORS.get("ec2")
    ctx = CollectContext(session, spec, region, ACCOUNT, "aws")
    return spec.fn(ctx), ctx


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", region_name=REGION)


def _default_vpc(ec2) -> str:
    return next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"])


def test_declared_actions_are_reads():
    spec = COLLECTORS.get("ec2")
    assert spec.regional
    for actions in spec.datasets.values():
        for action in actions:
            service, op = action.split(":")
            assert is_read(service, op), action


def test_security_group_rules_carry_ids_tags_and_every_source_kind(session, ec2):
    vpc = _default_vpc(ec2)
    pl = ec2.create_managed_prefix_list(PrefixListName="office", MaxEntries=2, AddressFamily="IPv4",
                                        Entries=[{"Cidr": "203.0.113.0/24"}])["PrefixList"]["PrefixListId"]
    other = ec2.create_security_group(GroupName="peer", Description="peer", VpcId=vpc)["GroupId"]
    sg = ec2.create_security_group(
        GroupName="web", Description="<b>web</b>", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": "a"}]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "public site"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "PrefixListIds": [{"PrefixListId": pl}],
         "UserIdGroupPairs": [{"GroupId": other}]},
    ], TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": [{"Key": "why", "Value": "site"}]}])
    section, ctx = _collect(session)
    assert not ctx.gaps
    group = next(g for g in section.security_groups if g.id == sg)
    assert group.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{sg}"
    assert (group.name, group.description, group.vpc_id, group.tags) == ("web", "<b>web</b>", vpc, {"team": "a"})
    assert group.region == REGION and group.resource_type == "AWS::EC2::SecurityGroup"
    ingress = group.ingress
    assert {r.cidr for r in ingress if r.cidr} == {"0.0.0.0/0", "::/0"}
    v4 = next(r for r in ingress if r.cidr_ipv4)
    assert (v4.protocol, v4.from_port, v4.to_port, v4.description) == ("tcp", 443, 443, "public site")
    assert v4.rule_id.startswith("sgr-") and v4.tags == {"why": "site"}
    assert [r.prefix_list_id for r in ingress if r.prefix_list_id] == [pl]
    assert [r.referenced_group_id for r in ingress if r.referenced_group_id] == [other]
    assert [r.protocol for r in group.egress] == ["-1"]
    assert [g.id for g in section.security_groups] == sorted(g.id for g in section.security_groups)


def test_rules_are_fetched_once_per_region_not_per_group(session, ec2):
    vpc = _default_vpc(ec2)
    for n in range(3):
        ec2.create_security_group(GroupName=f"g{n}", Description="x", VpcId=vpc)
    _collect(session)
    calls = {op: n for (svc, _, op), n in session.calls.items() if svc == "ec2"}
    assert calls["DescribeSecurityGroupRules"] == 1 and calls["DescribeSecurityGroups"] == 1


def test_instances_volumes_vpcs_flow_logs_and_interfaces(session, ec2):
    vpc = _default_vpc(ec2)
    inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                             MetadataOptions={"HttpTokens": "required"},
                             TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "w"}]}]
                             )["Instances"][0]["InstanceId"]
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=True)["VolumeId"]
    fl = ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="REJECT", LogGroupName="g",
                              DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/r")["FlowLogIds"][0]
    section, ctx = _collect(session)
    [i] = section.instances
    assert (i.id, i.state, i.http_tokens, i.http_endpoint, i.tags) == (inst, "running", "required", "enabled",
                                                                     {"Name": "w"})
    assert i.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{inst}" and i.security_group_ids
    v = next(v for v in section.volumes if v.id == vol)
    assert v.encrypted and v.kms_key_id and v.size_gib == 1
    root = next(v for v in section.volumes if v.id != vol)
    assert root.attached_to == [inst]
    assert [(x.id, x.is_default) for x in section.vpcs] == [(vpc, True)]
    [log] = section.flow_logs
    assert (log.id, log.resource_id, log.status, log.traffic_type, log.region) == (fl, vpc, "ACTIVE", "REJECT", REGION)
    [eni] = section.network_interfaces
    assert eni.vpc_id == vpc and eni.instance_id == inst
    # moto lacks GetInstanceMetadataDefaults: an optional dataset's gap, nothing else
    assert {g.dataset for g in ctx.gaps} == {"ec2.metadata_defaults"}
    assert section.metadata_defaults == []


def test_ebs_default_encryption_and_optional_key(session, ec2):
    section, ctx = _collect(session)
    assert [(s.region, s.enabled) for s in section.ebs_encryption] == [(REGION, False)]
    assert not ctx.gaps  # the default key is not read while encryption by default is off
    ec2.enable_ebs_encryption_by_default()
    section, ctx = _collect(session)
    assert [s.enabled for s in section.ebs_encryption] == [True]
    assert section.ebs_default_keys == []  # moto: GetEbsDefaultKmsKeyId not implemented
    assert [(g.dataset, g.error_code) for g in ctx.gaps] == [("ec2.ebs_default_key", "Unsupported")]


def test_empty_region_skips_metadata_defaults(session, ec2):
    section, ctx = _collect(session)
    assert section.instances == [] and not ctx.gaps
    assert not any(op == "GetInstanceMetadataDefaults" for (_, _, op) in session.calls)


@pytest.mark.parametrize(("operation", "dataset", "field"), [
    ("DescribeSecurityGroups", "ec2.security_groups", "security_groups"),
    ("DescribeSecurityGroupRules", "ec2.security_groups", "security_groups"),
    ("DescribeInstances", "ec2.instances", "instances"),
    ("DescribeVolumes", "ec2.volumes", "volumes"),
    ("DescribeVpcs", "ec2.vpcs", "vpcs"),
    ("DescribeFlowLogs", "ec2.flow_logs", "flow_logs"),
    ("DescribeNetworkInterfaces", "ec2.network_interfaces", "network_interfaces"),
    ("GetEbsEncryptionByDefault", "ec2.ebs_encryption", "ebs_encryption"),
    ("DescribeSubnets", "ec2.subnets", "subnets"),
    ("DescribeRouteTables", "ec2.route_tables", "route_tables"),
    ("DescribeNetworkAcls", "ec2.network_acls", "network_acls"),
    ("DescribeVpcEndpoints", "ec2.vpc_endpoints", "vpc_endpoints"),
    ("DescribeVpcPeeringConnections", "ec2.peering_connections", "peering_connections"),
    ("DescribeManagedPrefixLists", "ec2.prefix_lists", "prefix_lists"),
])
def test_a_denial_is_a_gap_on_its_own_dataset_only(session, ec2, operation, dataset, field):
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway")
    ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=_default_vpc(ec2))
    deny(session, f"ec2.{operation}")
    section, ctx = _collect(session)
    assert [(g.dataset, g.operation, g.iam_action, g.error_code, g.region) for g in ctx.gaps] == [
        (dataset, operation, f"ec2:{operation}", "AccessDenied", REGION)]
    assert getattr(section, field) == []
    assert section.vpcs or field == "vpcs"  # the other datasets were still read
    assert section.volumes or field == "volumes"


def test_vpc_layout_datasets(session, ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=sub, MapPublicIpOnLaunch={"Value": True})
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rt, SubnetId=sub)
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 22, "To": 22})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=90, Protocol="-1", RuleAction="deny", Egress=False,
                                 Ipv6CidrBlock="::/0")
    ep = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway",
                                 RouteTableIds=[rt])["VpcEndpoint"]["VpcEndpointId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=_default_vpc(ec2)
                                            )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    pl = ec2.create_managed_prefix_list(PrefixListName="vpn", MaxEntries=2, AddressFamily="IPv4",
                                        Entries=[{"Cidr": "198.51.100.0/24"}])["PrefixList"]["PrefixListId"]
    section, ctx = _collect(session)
    assert not ctx.gaps
    s = next(x for x in section.subnets if x.id == sub)
    assert (s.vpc_id, s.cidr, s.map_public_ip_on_launch, s.default_for_az, s.resource_type) == (
        vpc, "10.0.1.0/24", True, False, "AWS::EC2::Subnet")
    assert s.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{sub}"
    table = next(t for t in section.route_tables if t.id == rt)
    assert table.subnet_ids == [sub] and not table.main
    assert {(r.destination, r.target) for r in table.routes} >= {("0.0.0.0/0", igw), ("10.0.0.0/16", "local")}
    assert any(t.main and t.vpc_id == vpc for t in section.route_tables)
    n = next(x for x in section.network_acls if x.id == acl)
    assert [(e.rule_number, e.allow, e.protocol, e.cidr, e.from_port, e.to_port) for e in n.entries] == [
        (90, False, "-1", "::/0", None, None), (100, True, "tcp", "0.0.0.0/0", 22, 22)]
    assert any(x.is_default and x.vpc_id == vpc and sub in x.subnet_ids for x in section.network_acls)
    [e] = [x for x in section.vpc_endpoints if x.id == ep]
    assert (e.endpoint_type, e.vpc_id, e.route_table_ids, e.state) == ("Gateway", vpc, [rt], "available")
    [p] = section.peering_connections
    assert p.id == pcx and p.requester.vpc_id == vpc and p.requester.cidrs == ["10.0.0.0/16"]
    assert p.peer_of(vpc).cidrs == ["172.31.0.0/16"] and p.peer_of(p.accepter.vpc_id).vpc_id == vpc
    mine = next(x for x in section.prefix_lists if x.id == pl)
    assert mine.entries == ["198.51.100.0/24"] and not mine.aws_managed
    aws = next(x for x in section.prefix_lists if x.name == f"com.amazonaws.{REGION}.s3")
    assert aws.aws_managed and aws.entries is None  # AWS service ranges are not read
    calls = {op: n for (svc, _, op), n in session.calls.items() if svc == "ec2"}
    assert calls["GetManagedPrefixListEntries"] == 1  # customer lists only
    assert all(calls[op] == 1 for op in ("DescribeSubnets", "DescribeRouteTables", "DescribeNetworkAcls",
                                         "DescribeVpcEndpoints", "DescribeVpcPeeringConnections"))


def test_unreadable_prefix_list_entries_are_a_gap_on_that_list_only(session, ec2):
    pl = ec2.create_managed_prefix_list(PrefixListName="vpn", MaxEntries=2, AddressFamily="IPv4",
                                        Entries=[{"Cidr": "198.51.100.0/24"}])["PrefixList"]
    deny(session, "ec2.GetManagedPrefixListEntries")
    section, ctx = _collect(session)
    [gap] = ctx.gaps
    assert (gap.dataset, gap.resource_id, gap.iam_action) == (
        "ec2.prefix_lists", pl["PrefixListArn"], "ec2:GetManagedPrefixListEntries")
    assert next(x for x in section.prefix_lists if x.id == pl["PrefixListId"]).entries is None


def test_instance_ipv6_addresses(session, ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    v6 = vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"].replace("/56", "/64")
    sub = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.0.1.0/24", Ipv6CidrBlock=v6)["Subnet"]["SubnetId"]
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=sub, Ipv6AddressCount=1)
    section, _ = _collect(session)
    [i] = section.instances
    assert len(i.ipv6_addresses) == 1 and i.public_ip is None and i.subnet_id == sub
    assert next(s for s in section.subnets if s.id == sub).ipv6_cidrs == [v6]
