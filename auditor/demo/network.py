"""Demo EC2/VPC: an SSH group open to the world beside a justified public HTTPS group, IMDSv1 next to
IMDSv2, an unencrypted volume, EBS default encryption on in one region only, one VPC with flow logs.
moto's default VPCs stay, so the default-VPC check fails where nothing runs in them.

Step "network-vpc" adds an application VPC: private, public and spare subnets, a tight network ACL beside
the allow-all default ones, an S3 gateway endpoint but none for DynamoDB, a peering to the default VPC
routed wide one way and narrow the other, interfaces on their own and on the default group, and an unused
debug group open to ::/0 on every port."""
from __future__ import annotations

from typing import Any

from auditor.demo import DemoContext, demo_step

AMI = "ami-12c6146b"  # one of moto's stock Amazon AMIs
JUSTIFICATION_TAG = "public-ingress-justification"  # AuditConfig.justification_tag default


@demo_step("network")
def network(ctx: DemoContext) -> None:
    ec2 = ctx.client("ec2", "us-east-1")
    vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    ssh = ec2.create_security_group(GroupName="ssh-open", Description="ssh for the team", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=ssh, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    https = ec2.create_security_group(
        GroupName="public-https", Description="public load balancer", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [
            {"Key": JUSTIFICATION_TAG, "Value": "public website behind the load balancer"}]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=https, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    good = _instance(ec2, "web", "required", https, public_ip=False)
    legacy = _instance(ec2, "legacy-box", "optional", ssh, public_ip=True)
    for name, encrypted in (("app-data", True), ("scratch", False)):
        ec2.create_volume(AvailabilityZone="us-east-1a", Size=8, Encrypted=encrypted, TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}])
    ec2.enable_ebs_encryption_by_default()  # eu-west-1 keeps the default: off
    account = ctx.client("sts").get_caller_identity()["Account"]
    ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogGroupName="vpc-flow-logs",
                         DeliverLogsPermissionArn=f"arn:aws:iam::{account}:role/vpc-flow-logs")
    ctx.notes.append(f"network: {ssh} ssh-open (22 from 0.0.0.0/0, unjustified), {https} public-https (justified); "
                     f"{good} IMDSv2 (no public IP), {legacy} IMDSv1 (public IP); volume 'scratch' unencrypted; "
                     f"EBS default encryption off in eu-west-1; flow log on {vpc} only; default VPCs kept")


def _instance(ec2: Any, name: str, tokens: str, group: str, public_ip: bool) -> str:
    resp = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
        NetworkInterfaces=[{"DeviceIndex": 0, "Groups": [group], "AssociatePublicIpAddress": public_ip}],
        MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
    return str(resp["Instances"][0]["InstanceId"])


@demo_step("network-vpc")
def network_vpc(ctx: DemoContext) -> None:
    ec2 = ctx.client("ec2", "us-east-1")
    default_vpc = next(v for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    debug = ec2.create_security_group(GroupName="debug-open", Description="left over from an incident",
                                      VpcId=default_vpc["VpcId"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=debug, IpPermissions=[
        {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "app"}]}])["Vpc"]["VpcId"]
    private, spare, public = (ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n}.0/24", AvailabilityZone="us-east-1a")
                              ["Subnet"]["SubnetId"] for n in (1, 2, 3))
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    main_rt = _main_table(ec2, vpc)
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway",
                            RouteTableIds=[main_rt])
    _tight_acl(ec2, vpc, private)
    app = ec2.create_security_group(GroupName="orders-lambda", Description="orders function", VpcId=vpc)["GroupId"]
    ec2.create_network_interface(SubnetId=private, Groups=[app], Description="AWS Lambda VPC ENI-orders")
    ec2.create_network_interface(SubnetId=private, Description="reporting job (default group only)")
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=default_vpc["VpcId"]
                                            )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=main_rt, DestinationCidrBlock=default_vpc["CidrBlock"], VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=_main_table(ec2, default_vpc["VpcId"]), DestinationCidrBlock="10.20.1.0/24",
                     VpcPeeringConnectionId=pcx)
    ctx.notes.append(f"network-vpc: app VPC {vpc} (private {private}, spare {spare}, public {public} with "
                     f"MapPublicIpOnLaunch); S3 gateway endpoint, none for DynamoDB; tight NACL on {private}; "
                     f"peering {pcx} routed to the whole default VPC one way; an ENI on the default group only; "
                     f"unused group {debug} open to ::/0 on all ports")


def _main_table(ec2: Any, vpc: str) -> str:
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    return str(next(t["RouteTableId"] for t in tables if any(a.get("Main") for a in t.get("Associations", []))))


def _tight_acl(ec2: Any, vpc: str, subnet: str) -> None:
    """HTTPS in from anywhere, SSH only from the VPN; everything else meets the implicit deny."""
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for number, cidr, port in ((100, "0.0.0.0/0", 443), (110, "10.8.0.0/16", 22)):
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=number, Protocol="6", RuleAction="allow",
                                     Egress=False, CidrBlock=cidr, PortRange={"From": port, "To": port})
    current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
    assoc = next(a["NetworkAclAssociationId"] for n in current["NetworkAcls"] for a in n["Associations"]
                 if a.get("SubnetId") == subnet)
    ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl)
