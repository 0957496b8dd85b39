"""KMS keys with their manager, spec, state and rotation status."""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource


class KmsKey(Resource):
    resource_type: ClassVar[str] = "AWS::KMS::Key"
    manager: str = ""
    spec: str = ""
    origin: str = ""
    state: str = ""
    deletion_date: datetime | None = None
    aliases: list[str] = []
    rotation_enabled: bool | None = None  # None: not applicable or not readable (see gaps)


class KmsSection(Section):
    keys: list[KmsKey] = []


@collector("kms", section=KmsSection, regional=True, datasets={
    "kms.keys": ("kms:ListKeys", "kms:DescribeKey", "kms:ListAliases"),
    "kms.rotation": ("kms:GetKeyRotationStatus",),
})
def collect_kms(ctx: CollectContext) -> KmsSection:
    kms = ctx.client()
    listed = ctx.paginate("kms.keys", kms, "list_keys", "Keys")
    if listed is None:
        return KmsSection()
    aliases: dict[str, list[str]] = {}
    for alias in ctx.paginate("kms.keys", kms, "list_aliases", "Aliases") or []:
        if alias.get("TargetKeyId"):
            aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])

    def detail(entry: dict) -> KmsKey | None:
        arn = entry["KeyArn"]
        meta = ctx.call("kms.keys", kms, "describe_key", KeyId=arn, resource_id=arn)
        if not meta:
            return None
        md = meta["KeyMetadata"]
        names = aliases.get(md["KeyId"], [])
        # moto reports alias/aws/* keys as CUSTOMER; an AWS alias means AWS-managed in practice.
        manager = "AWS" if any(n.startswith("alias/aws/") for n in names) else md.get("KeyManager", "")
        rotation = None
        if manager == "CUSTOMER" and md.get("KeySpec") == "SYMMETRIC_DEFAULT" and md.get("KeyState") == "Enabled" \
                and md.get("Origin") == "AWS_KMS":
            resp = ctx.call("kms.rotation", kms, "get_key_rotation_status", KeyId=arn, resource_id=arn)
            rotation = None if resp is None else bool(resp.get("KeyRotationEnabled"))
        return KmsKey(arn=arn, id=md["KeyId"], region=ctx.region, account_id=ctx.account_id, manager=manager,
                      spec=md.get("KeySpec", ""), origin=md.get("Origin", ""), state=md.get("KeyState", ""),
                      deletion_date=md.get("DeletionDate"), aliases=names, rotation_enabled=rotation)

    return KmsSection(keys=[k for k in ctx.map(detail, listed) if k is not None])
