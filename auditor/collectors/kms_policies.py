"""KMS key policies of customer keys (GetKeyPolicy per key), for the resource-policy exposure check.

The kms collector does not read key policies. Keys behind an alias/aws/* alias are AWS-managed (their policies
are fixed by AWS and scoped with kms:CallerAccount), so they are skipped; the listing costs one ListKeys and one
ListAliases page per region, the policies one call per customer key on the detail pool.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource

KEY_POLICIES = "kms.key_policies"


class KeyPolicy(Resource):
    resource_type: ClassVar[str] = "AWS::KMS::Key"  # the same resource as the kms collector's KmsKey
    policy_read: bool = False  # False: GetKeyPolicy failed (see gaps)
    policy: str | None = None


class KmsPoliciesSection(Section):
    key_policies: list[KeyPolicy] = []


@collector("kms_policies", service="kms", section=KmsPoliciesSection, regional=True, datasets={
    KEY_POLICIES: ("kms:ListKeys", "kms:ListAliases", "kms:GetKeyPolicy"),
})
def collect_kms_policies(ctx: CollectContext) -> KmsPoliciesSection:
    kms = ctx.client()
    keys = ctx.paginate(KEY_POLICIES, kms, "list_keys", "Keys")
    aliases = ctx.paginate(KEY_POLICIES, kms, "list_aliases", "Aliases")
    if keys is None or aliases is None:
        return KmsPoliciesSection()
    aws_managed = {a["TargetKeyId"] for a in aliases
                   if a.get("TargetKeyId") and a.get("AliasName", "").startswith("alias/aws/")}

    def policy(entry: dict[str, Any]) -> KeyPolicy:
        arn = entry["KeyArn"]
        resp = ctx.call(KEY_POLICIES, kms, "get_key_policy", KeyId=arn, PolicyName="default", resource_id=arn)
        return KeyPolicy(arn=arn, id=entry["KeyId"], region=ctx.region, account_id=arn.split(":")[4],
                         policy_read=resp is not None, policy=None if resp is None else resp.get("Policy") or None)

    customer = sorted((k for k in keys if k["KeyId"] not in aws_managed), key=lambda k: k["KeyArn"])
    return KmsPoliciesSection(key_policies=ctx.map(policy, customer))
