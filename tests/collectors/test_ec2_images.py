from __future__ import annotations

import base64
import gzip
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import boto3
import pytest

import auditor.collectors.ec2_images  # noqa: F401 - registers the collector
from auditor.collectors import COLLECTORS, CollectContext
from auditor.collectors.ec2_images import (
    IMAGES,
    SNAPSHOT_PERMISSIONS,
    Ec2ImagesSection,
    decode_user_data,
    scan_user_data,
)
from auditor.guard import is_read
from auditor.secrets import SECRET_ASSIGNMENT
from tests.conftest import ACCOUNT, deny, run_unit

REGION = "us-east-1"
AMI = "ami-12c6146b"  # one of moto's stock Amazon AMIs
PASSWORD = "Zq8-Tr0ub4dor-x7"


def _collect(session, region: str = REGION) -> tuple[Ec2ImagesSection, CollectContext]:
    return run_unit(session, "ec2_images", region)


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2", region_name=REGION)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_declared_actions_are_reads():
    spec = COLLECTORS.get("ec2_images")
    assert spec.regional and spec.service == "ec2"
    for actions in spec.datasets.values():
        for action in actions:
            service, op = action.split(":")
            assert is_read(service, op), action


def test_user_data_is_decoded_from_base64_gzip_and_mime_parts():
    script = f"#!/bin/bash\nexport DB_PASSWORD={PASSWORD}\n".encode()
    assert decode_user_data(_b64(script)) == ([("", script.decode())], "")
    assert decode_user_data(_b64(gzip.compress(script)))[0] == [("", script.decode())]
    mime = MIMEMultipart()
    mime.attach(MIMEText("#cloud-config\npackages: [nginx]\n", "cloud-config"))
    part = MIMEText(script.decode(), "x-shellscript")  # MIMEText base64-encodes utf-8 bodies
    mime.attach(part)
    hits, problem = scan_user_data(_b64(gzip.compress(mime.as_bytes())))
    assert [(h.location, h.kind) for h in hits] == [("part 2: line 2 (DB_PASSWORD)", SECRET_ASSIGNMENT)]
    assert problem == ""
    assert decode_user_data("") == ([], "")
    assert decode_user_data(_b64(b"\x1f\x8bnot gzip"))[1] == "gzip data is corrupt"


def test_snapshots_are_own_only_with_public_flag_and_shares(session, ec2):
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    public = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    shared = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=public, Attribute="createVolumePermission", OperationType="add",
                                  GroupNames=["all"])
    ec2.modify_snapshot_attribute(SnapshotId=shared, Attribute="createVolumePermission", OperationType="add",
                                  UserIds=["111122223333"])
    section, ctx = _collect(session)
    by_id = {s.id: s for s in section.snapshots}
    assert set(by_id) == {public, shared}  # moto also lists AMI snapshots of other owners; they are dropped
    assert (by_id[public].public, by_id[public].shared_accounts) == (True, 0)
    assert (by_id[shared].public, by_id[shared].shared_accounts) == (False, 1)
    assert by_id[public].arn == f"arn:aws:ec2:{REGION}::snapshot/{public}"
    # moto lacks GetSnapshotBlockPublicAccessState (enrichment); no instances, so no allowed-images call
    assert {g.dataset for g in ctx.gaps} == {"ec2.snapshot_block_public_access"}


def test_unreadable_snapshot_permission_is_unknown_for_that_snapshot_only(session, ec2):
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snap = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    deny(session, "ec2.DescribeSnapshotAttribute")
    section, ctx = _collect(session)
    [s] = section.snapshots
    assert s.public is None and s.shared_accounts is None
    [gap] = [g for g in ctx.gaps if g.dataset == SNAPSHOT_PERMISSIONS]
    assert gap.resource_id == s.arn and snap in gap.resource_id


def test_images_are_resolved_and_unknown_ones_remembered(session, ec2):
    first = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    own = ec2.create_image(InstanceId=first, Name="golden")["ImageId"]
    second = ec2.run_instances(ImageId=own, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    gone = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[gone])
    ec2.deregister_image(ImageId=own)
    section, ctx = _collect(session)
    assert {i.id: i.image_id for i in section.instances} == {first: AMI, second: own}  # terminated left out
    assert [i.id for i in section.images] == [AMI]
    assert section.images[0].owner_alias == "amazon" and section.images[0].created is not None
    assert [(lk.region, lk.image_ids) for lk in section.image_lookups] == [(REGION, sorted([AMI, own]))]
    deny(session, "ec2.DescribeImages")
    section, ctx = _collect(session)
    assert section.images == [] and section.image_lookups == []
    assert any(g.dataset == IMAGES for g in ctx.gaps)


def test_user_data_keeps_hits_never_text(session, ec2):
    script = f"#!/bin/bash\nexport DB_PASSWORD={PASSWORD}\n"
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, UserData=script)["Instances"][0]["InstanceId"]
    plain = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={"ImageId": AMI, "UserData": _b64(b"ok")})
    ec2.create_launch_template_version(LaunchTemplateName="web", LaunchTemplateData={
        "ImageId": AMI, "UserData": _b64(script.encode())})
    section, _ = _collect(session)
    scans = {s.id: s for s in section.user_data}
    assert [(h.location, h.kind) for h in scans[iid].secrets] == [("line 2 (DB_PASSWORD)", SECRET_ASSIGNMENT)]
    assert scans[plain].has_user_data is False and scans[plain].secrets == []
    assert [(t.name, t.version, t.is_default, bool(t.secrets)) for t in section.template_user_data] == [
        ("web", 1, True, False), ("web", 2, False, True)]
    dumped = section.model_dump_json()
    assert PASSWORD not in dumped and _b64(script.encode()) not in dumped


def test_unreadable_user_data_is_a_gap_on_that_instance(session, ec2):
    iid = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    deny(session, "ec2.DescribeInstanceAttribute")
    section, ctx = _collect(session)
    assert [(s.id, s.read, s.secrets) for s in section.user_data] == [(iid, False, [])]
    [gap] = [g for g in ctx.gaps if g.dataset == "ec2.user_data"]
    assert gap.resource_id == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{iid}"
