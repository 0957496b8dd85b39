"""IAM Identity Center (sso-admin), per region: instances and their permission sets with session durations.

An Identity Center instance lives in one region, so this collector is regional: ListInstances in the
other regions answers an empty list, which is data.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource

INSTANCES = "sso.instances"
PERMISSION_SETS = "sso.permission_sets"

DEFAULT_SESSION_SECONDS = 3600  # AWS applies PT1H when a permission set has no SessionDuration
_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


class SsoInstance(Resource):
    resource_type: ClassVar[str] = "AWS::SSO::Instance"
    name: str = ""
    identity_store_id: str = ""
    owner_account_id: str = ""
    status: str = ""  # ACTIVE | CREATE_IN_PROGRESS | DELETE_IN_PROGRESS


class PermissionSet(Resource):
    resource_type: ClassVar[str] = "AWS::SSO::PermissionSet"
    name: str = ""  # "" when DescribePermissionSet failed (a gap names the permission set)
    instance_arn: str
    session_duration: str | None = None  # ISO 8601 as AWS returns it (e.g. "PT8H"); None: not set or not read
    session_seconds: int | None = None  # parsed; AWS's default (1 h) when not set; None when not read/parseable
    described: bool = False


class SsoSection(Section):
    instances: list[SsoInstance] = []
    permission_sets: list[PermissionSet] = []


def duration_seconds(value: str | None) -> int | None:
    """'PT12H' -> 43200; None for anything that is not the hours/minutes/seconds form AWS uses."""
    match = _ISO_DURATION.match(value or "")
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@collector("sso", service="sso-admin", section=SsoSection, regional=True, datasets={
    INSTANCES: ("sso:ListInstances",),
    PERMISSION_SETS: ("sso:ListPermissionSets", "sso:DescribePermissionSet"),
})
def collect_sso(ctx: CollectContext) -> SsoSection:
    client = ctx.client()
    listed = ctx.paginate(INSTANCES, client, "list_instances", "Instances")
    if listed is None:
        return SsoSection()
    instances = sorted((SsoInstance(
        arn=i["InstanceArn"], id=i["InstanceArn"].rsplit("/", 1)[-1], region=ctx.region,
        account_id=i.get("OwnerAccountId", ctx.account_id), name=i.get("Name", ""),
        identity_store_id=i.get("IdentityStoreId", ""), owner_account_id=i.get("OwnerAccountId", ""),
        status=i.get("Status", "")) for i in listed), key=lambda i: i.arn)
    pairs: list[tuple[str, str]] = []
    for inst in instances:
        # A failed list is a gap for the whole region: an unseen permission set could change any verdict.
        for arn in ctx.paginate(PERMISSION_SETS, client, "list_permission_sets", "PermissionSets",
                                InstanceArn=inst.arn) or []:
            pairs.append((inst.arn, arn))

    def describe(pair: tuple[str, str]) -> PermissionSet:
        instance_arn, arn = pair
        resp = ctx.call(PERMISSION_SETS, client, "describe_permission_set", resource_id=arn,
                        InstanceArn=instance_arn, PermissionSetArn=arn)
        base: dict[str, Any] = {"arn": arn, "id": arn.rsplit("/", 1)[-1], "region": ctx.region,
                                "account_id": ctx.account_id, "instance_arn": instance_arn}
        if resp is None:
            return PermissionSet(**base)
        ps = resp["PermissionSet"]
        raw = ps.get("SessionDuration")
        if isinstance(raw, int):  # moto answers seconds instead of ISO 8601
            raw = f"PT{raw}S"
        seconds = DEFAULT_SESSION_SECONDS if raw is None else duration_seconds(raw)
        return PermissionSet(**base, name=ps.get("Name", ""), session_duration=raw, session_seconds=seconds,
                             described=True)

    sets = sorted(ctx.map(describe, pairs), key=lambda p: p.arn)
    return SsoSection(instances=instances, permission_sets=sets)
