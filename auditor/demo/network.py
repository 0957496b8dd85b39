"""Demo EC2/VPC: an SSH group open to the world beside a justified public HTTPS group, IMDSv1 next to
IMDSv2, an unencrypted volume, EBS default encryption on in one region only, one VPC with flow logs.
moto's default VPCs stay, so the default-VPC check fails where nothing runs in them."""
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
    good = _instance(ec2, "web", "required", https)
    legacy = _instance(ec2, "legacy-box", "optional", ssh)
    for name, encrypted in (("app-data", True), ("scratch", False)):
        ec2.create_volume(AvailabilityZone="us-east-1a", Size=8, Encrypted=encrypted, TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}])
    ec2.enable_ebs_encryption_by_default()  # eu-west-1 keeps the default: off
    account = ctx.client("sts").get_caller_identity()["Account"]
    ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogGroupName="vpc-flow-logs",
                         DeliverLogsPermissionArn=f"arn:aws:iam::{account}:role/vpc-flow-logs")
    ctx.notes.append(f"network: {ssh} ssh-open (22 from 0.0.0.0/0, unjustified), {https} public-https (justified); "
                     f"{good} IMDSv2, {legacy} IMDSv1; volume 'scratch' unencrypted; EBS default encryption off in "
                     f"eu-west-1; flow log on {vpc} only; default VPCs kept")


def _instance(ec2: Any, name: str, tokens: str, group: str) -> str:
    resp = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", SecurityGroupIds=[group],
        MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
    return str(resp["Instances"][0]["InstanceId"])
