"""EBS snapshots with their public-ness, the AMIs instances run, and secrets in user data.

The instance list is read here too (DescribeInstances): collectors run side by side, so the ec2
collector's list is not available at collection time. AMIs are resolved in batches with an image-id
filter (unknown ids are omitted instead of failing the call). User data of instances and of the $Latest
and $Default launch-template versions is decoded and scanned here; only (location, kind) hits are kept,
never the user data itself. `ec2.snapshot_block_public_access` and `ec2.allowed_images` are enrichment.
"""
from __future__ import annotations

import base64
import binascii
import email
import zlib
from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.collectors.ec2_vpc import resource_fields, tags_of
from auditor.models import Frozen, Resource
from auditor.secrets import SecretHit, scan_text

SNAPSHOTS = "ec2.snapshots"
SNAPSHOT_PERMISSIONS = "ec2.snapshot_permissions"
SNAPSHOT_BLOCK = "ec2.snapshot_block_public_access"
INSTANCE_LIST = "ec2.instances"  # the ec2 collector's instances: this collector runs after it and reuses them
IMAGES = "ec2.images"
ALLOWED_IMAGES = "ec2.allowed_images"
USER_DATA = "ec2.user_data"
TEMPLATE_USER_DATA = "ec2.launch_template_user_data"

_LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
_IMAGE_BATCH = 200  # values per DescribeImages filter
_MAX_USER_DATA = 1 << 20  # decompressed bytes scanned; user data is at most 16 KiB before compression


class Snapshot(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::Snapshot"
    encrypted: bool
    kms_key_id: str | None = None
    volume_id: str = ""
    state: str = ""
    started: datetime | None = None
    tags: dict[str, str] = {}
    public: bool | None = None  # createVolumePermission has Group=all; None: not read (see gaps)
    shared_accounts: int | None = None  # accounts granted createVolumePermission


class RegionSetting(Frozen):
    region: str
    state: str  # GetSnapshotBlockPublicAccessState / GetAllowedImagesSettings State


class InstanceImage(Resource):
    """An instance and the AMI it was launched from."""

    resource_type: ClassVar[str] = "AWS::EC2::Instance"
    image_id: str = ""
    state: str = ""
    name: str = ""


class Image(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::Image"
    owner_id: str = ""
    owner_alias: str = ""
    name: str = ""
    state: str = ""
    public: bool = False
    created: datetime | None = None
    deprecation_time: datetime | None = None
    tags: dict[str, str] = {}


class ImageLookup(Frozen):
    """The AMI ids asked for in a region: an id asked for but not returned does not exist (or is not visible)."""

    region: str
    image_ids: list[str]


class UserDataScan(Resource):
    """Secrets found in one instance's user data: where and what kind, never the text."""

    resource_type: ClassVar[str] = "AWS::EC2::Instance"
    name: str = ""
    read: bool = True  # False: DescribeInstanceAttribute failed (see gaps); nothing is known
    has_user_data: bool = False
    secrets: list[SecretHit] = []
    problem: str = ""  # why the text could not be scanned fully (e.g. "gzip data is corrupt")


class TemplateUserDataScan(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::LaunchTemplate"
    name: str = ""
    version: int = 0
    is_default: bool = False
    has_user_data: bool = False
    secrets: list[SecretHit] = []
    problem: str = ""


class Ec2ImagesSection(Section):
    snapshots: list[Snapshot] = []
    snapshot_block_public_access: list[RegionSetting] = []
    instances: list[InstanceImage] = []
    images: list[Image] = []
    image_lookups: list[ImageLookup] = []
    allowed_images: list[RegionSetting] = []
    user_data: list[UserDataScan] = []
    template_user_data: list[TemplateUserDataScan] = []


@collector("ec2_images", service="ec2", section=Ec2ImagesSection, regional=True, after=("ec2",), datasets={
    SNAPSHOTS: ("ec2:DescribeSnapshots",),
    SNAPSHOT_PERMISSIONS: ("ec2:DescribeSnapshotAttribute",),
    SNAPSHOT_BLOCK: ("ec2:GetSnapshotBlockPublicAccessState",),
    IMAGES: ("ec2:DescribeImages",),
    ALLOWED_IMAGES: ("ec2:GetAllowedImagesSettings",),
    USER_DATA: ("ec2:DescribeInstanceAttribute",),
    TEMPLATE_USER_DATA: ("ec2:DescribeLaunchTemplateVersions",),
})
def collect_ec2_images(ctx: CollectContext) -> Ec2ImagesSection:
    ec2 = ctx.client()
    snapshots, block = _snapshots(ctx, ec2)
    instances = _instances(ctx)
    images, lookups = _images(ctx, ec2, sorted({i.image_id for i in instances if i.image_id}))
    allowed = _setting(ctx, ec2, ALLOWED_IMAGES, "get_allowed_images_settings") if instances else []
    return Ec2ImagesSection(snapshots=snapshots, snapshot_block_public_access=block, instances=instances,
                            images=images, image_lookups=lookups, allowed_images=allowed,
                            user_data=_user_data(ctx, ec2, instances), template_user_data=_templates(ctx, ec2))


def _snapshots(ctx: CollectContext, ec2: Any) -> tuple[list[Snapshot], list[RegionSetting]]:
    # The owner-id filter repeats OwnerIds=self for endpoints that ignore it (moto lists every AMI snapshot).
    listed = ctx.paginate(SNAPSHOTS, ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"],
                          Filters=[{"Name": "owner-id", "Values": [ctx.account_id]}])
    owned = sorted((s for s in listed or [] if s.get("OwnerId") in (None, ctx.account_id)),
                   key=lambda s: s["SnapshotId"])
    if not owned:
        return [], []
    block = _setting(ctx, ec2, SNAPSHOT_BLOCK, "get_snapshot_block_public_access_state")

    def detail(raw: dict[str, Any]) -> Snapshot:
        fields = resource_fields(ctx, "snapshot", raw["SnapshotId"])
        fields["arn"] = ctx.arn("ec2", f"snapshot/{raw['SnapshotId']}", ctx.region, "")  # snapshot ARNs have no account
        got = ctx.call(SNAPSHOT_PERMISSIONS, ec2, "describe_snapshot_attribute", SnapshotId=raw["SnapshotId"],
                       Attribute="createVolumePermission", resource_id=fields["arn"])
        perms = None if got is None else got.get("CreateVolumePermissions", [])
        return Snapshot(**fields, encrypted=bool(raw.get("Encrypted")), kms_key_id=raw.get("KmsKeyId"),
                        volume_id=raw.get("VolumeId", ""), state=raw.get("State", ""), started=raw.get("StartTime"),
                        tags=tags_of(raw.get("Tags")),
                        public=None if perms is None else any(p.get("Group") == "all" for p in perms),
                        shared_accounts=None if perms is None else sum(1 for p in perms if p.get("UserId")))

    return ctx.map(detail, owned), block


def _setting(ctx: CollectContext, ec2: Any, dataset: str, method: str) -> list[RegionSetting]:
    got = ctx.call(dataset, ec2, method)
    if got is None or got is NOT_FOUND:
        return []
    return [RegionSetting(region=ctx.region, state=str(got.get("State") or "unknown"))]


def _instances(ctx: CollectContext) -> list[InstanceImage]:
    # The ec2 collector already listed them; its gaps reach the checks through their need of ec2.instances.
    return sorted((InstanceImage(arn=i.arn, id=i.id, region=i.region, account_id=i.account_id, image_id=i.image_id,
                                 state=i.state, name=i.tags.get("Name", ""))
                   for i in ctx.upstream("ec2").instances if i.state in _LIVE_STATES), key=lambda x: x.id)


def _images(ctx: CollectContext, ec2: Any, image_ids: list[str]) -> tuple[list[Image], list[ImageLookup]]:
    batches = [image_ids[n:n + _IMAGE_BATCH] for n in range(0, len(image_ids), _IMAGE_BATCH)]
    found: dict[str, Image] = {}
    asked: list[str] = []
    for batch in batches:
        got = ctx.paginate(IMAGES, ec2, "describe_images", "Images", IncludeDeprecated=True, IncludeDisabled=True,
                           Filters=[{"Name": "image-id", "Values": batch}])
        if got is None:
            continue
        asked.extend(batch)
        for raw in got:
            found[raw["ImageId"]] = Image(
                arn=ctx.arn("ec2", f"image/{raw['ImageId']}", ctx.region, ""), id=raw["ImageId"], region=ctx.region,
                account_id=ctx.account_id, owner_id=raw.get("OwnerId", ""), owner_alias=raw.get("ImageOwnerAlias", ""),
                name=raw.get("Name", ""), state=raw.get("State", ""), public=bool(raw.get("Public")),
                created=_time(raw.get("CreationDate")), deprecation_time=_time(raw.get("DeprecationTime")),
                tags=tags_of(raw.get("Tags")))
    lookups = [ImageLookup(region=ctx.region, image_ids=sorted(asked))] if asked else []
    return sorted(found.values(), key=lambda x: x.id), lookups


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _user_data(ctx: CollectContext, ec2: Any, instances: list[InstanceImage]) -> list[UserDataScan]:
    def read(inst: InstanceImage) -> UserDataScan | None:
        got = ctx.call(USER_DATA, ec2, "describe_instance_attribute", InstanceId=inst.id, Attribute="userData",
                       absent=("InvalidInstanceID.NotFound",), resource_id=inst.arn)
        if got is NOT_FOUND:
            return None  # terminated since it was listed
        if got is None:  # gap recorded; the record lets the finding name the instance
            return UserDataScan(arn=inst.arn, id=inst.id, region=inst.region, account_id=inst.account_id,
                                name=inst.name, read=False)
        encoded = (got.get("UserData") or {}).get("Value") or ""
        secrets, problem = scan_user_data(encoded)
        return UserDataScan(arn=inst.arn, id=inst.id, region=inst.region, account_id=inst.account_id, name=inst.name,
                            has_user_data=bool(encoded), secrets=secrets, problem=problem)

    return [s for s in ctx.map(read, instances) if s is not None]


def _templates(ctx: CollectContext, ec2: Any) -> list[TemplateUserDataScan]:
    # One account-wide listing of every template's $Latest and $Default version (no per-template calls).
    versions = ctx.paginate(TEMPLATE_USER_DATA, ec2, "describe_launch_template_versions", "LaunchTemplateVersions",
                            Versions=["$Latest", "$Default"])
    out: dict[tuple[str, int], TemplateUserDataScan] = {}
    for v in versions or []:
        key = (v["LaunchTemplateId"], int(v.get("VersionNumber") or 0))
        if key in out:
            continue
        encoded = (v.get("LaunchTemplateData") or {}).get("UserData") or ""
        secrets, problem = scan_user_data(encoded)
        out[key] = TemplateUserDataScan(
            **resource_fields(ctx, "launch-template", key[0]), name=v.get("LaunchTemplateName", ""), version=key[1],
            is_default=bool(v.get("DefaultVersion")), has_user_data=bool(encoded), secrets=secrets, problem=problem)
    return [out[k] for k in sorted(out)]


def decode_user_data(encoded: str) -> tuple[list[tuple[str, str]], str]:
    """([(location prefix, text)], problem): base64, then gzip, then MIME multipart parts (each possibly
    base64 and gzip) scanned one by one so line numbers refer to the part."""
    if not encoded:
        return [], ""
    try:
        raw = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        return [], "user data is not base64"
    raw, problem = _gunzip(raw)
    text = raw.decode("utf-8", errors="replace")
    if "multipart/" not in text[:4096].lower():
        return [("", text)], problem
    segments = []
    for n, part in enumerate((p for p in email.message_from_string(text).walk() if not p.is_multipart()), start=1):
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            body, why = _gunzip(payload)
            segments.append((f"part {n}: ", body.decode("utf-8", errors="replace")))
            problem = problem or why
    return segments, problem


def scan_user_data(encoded: str) -> tuple[list[SecretHit], str]:
    segments, problem = decode_user_data(encoded)
    hits = [hit for prefix, text in segments for hit in scan_text(text, prefix)]
    return hits, problem


def _gunzip(raw: bytes) -> tuple[bytes, str]:
    if raw[:2] != b"\x1f\x8b":
        return raw, ""
    try:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out = inflater.decompress(raw, _MAX_USER_DATA)
        return out, "" if not inflater.unconsumed_tail else "user data larger than 1 MiB; scanned the first 1 MiB"
    except zlib.error:
        return raw, "gzip data is corrupt"
