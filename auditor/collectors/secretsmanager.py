"""Secrets Manager secrets: rotation settings from ListSecrets, resource policies from GetResourcePolicy.

Secret values are never read (the guard refuses GetSecretValue); ListSecrets already carries the rotation
fields and tags, so DescribeSecret is not called.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.collectors.ec2_vpc import tags_of
from auditor.models import Resource

SECRETS = "secretsmanager.secrets"
SECRET_POLICIES = "secretsmanager.resource_policies"


class Secret(Resource):
    resource_type: ClassVar[str] = "AWS::SecretsManager::Secret"
    name: str
    rotation_enabled: bool = False  # ListSecrets omits RotationEnabled when rotation was never turned on
    rotation_days: int | None = None  # RotationRules.AutomaticallyAfterDays
    rotation_schedule: str = ""  # RotationRules.ScheduleExpression (rate(...) or cron(...))
    last_rotated: datetime | None = None
    next_rotation: datetime | None = None
    created: datetime | None = None
    owning_service: str = ""  # e.g. "rds" for secrets a service manages (and rotates) itself
    tags: dict[str, str] = {}
    policy_read: bool = False  # False: GetResourcePolicy failed (see gaps) or was not made
    policy: str | None = None  # None: no resource policy (when policy_read)


class SecretsManagerSection(Section):
    secrets: list[Secret] = []


@collector("secretsmanager", section=SecretsManagerSection, regional=True, datasets={
    SECRETS: ("secretsmanager:ListSecrets",),
    SECRET_POLICIES: ("secretsmanager:GetResourcePolicy",),
})
def collect_secretsmanager(ctx: CollectContext) -> SecretsManagerSection:
    sm = ctx.client()
    listed = ctx.paginate(SECRETS, sm, "list_secrets", "SecretList")

    def secret(s: dict[str, Any]) -> Secret:
        rules = s.get("RotationRules") or {}
        resp = ctx.call(SECRET_POLICIES, sm, "get_resource_policy", SecretId=s["ARN"], resource_id=s["ARN"])
        return Secret(arn=s["ARN"], id=s.get("Name", ""), name=s.get("Name", ""), region=ctx.region,
                      account_id=s["ARN"].split(":")[4], rotation_enabled=bool(s.get("RotationEnabled")),
                      rotation_days=rules.get("AutomaticallyAfterDays"),
                      rotation_schedule=rules.get("ScheduleExpression") or "",
                      last_rotated=s.get("LastRotatedDate"), next_rotation=s.get("NextRotationDate"),
                      created=s.get("CreatedDate"), owning_service=s.get("OwningService") or "",
                      tags=tags_of(s.get("Tags")), policy_read=resp is not None,
                      policy=None if resp is None else resp.get("ResourcePolicy") or None)

    return SecretsManagerSection(secrets=ctx.map(secret, sorted(listed or [], key=lambda s: s["ARN"])))
