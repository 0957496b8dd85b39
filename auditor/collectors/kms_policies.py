"""KMS key policies of customer keys (GetKeyPolicy per key), for the resource-policy exposure check.

Runs after the kms collector and reads its keys, so keys and aliases are listed once per scan. AWS-managed keys
(their policies are fixed by AWS and scoped with kms:CallerAccount) are skipped; one call per customer key.
"""
from __future__ import annotations

from typing import ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.collectors.kms import KmsKey
from auditor.models import Resource

KEY_POLICIES = "kms.key_policies"
KEYS = "kms.keys"


class KeyPolicy(Resource):
    resource_type: ClassVar[str] = "AWS::KMS::Key"  # the same resource as the kms collector's KmsKey
    policy_read: bool = False  # False: GetKeyPolicy failed (see gaps)
    policy: str | None = None


class KmsPoliciesSection(Section):
    key_policies: list[KeyPolicy] = []


@collector("kms_policies", service="kms", section=KmsPoliciesSection, regional=True, after=("kms",),
           datasets={KEY_POLICIES: ("kms:GetKeyPolicy",)})
def collect_kms_policies(ctx: CollectContext) -> KmsPoliciesSection:
    if ctx.inherit_gaps(KEYS, KEY_POLICIES):
        return KmsPoliciesSection()
    kms = ctx.client()

    def policy(key: KmsKey) -> KeyPolicy:
        resp = ctx.call(KEY_POLICIES, kms, "get_key_policy", KeyId=key.arn, PolicyName="default", resource_id=key.arn)
        return KeyPolicy(arn=key.arn, id=key.id, region=ctx.region, account_id=key.arn.split(":")[4],
                         policy_read=resp is not None, policy=None if resp is None else resp.get("Policy") or None)

    customer = sorted((k for k in ctx.upstream("kms").keys if k.manager != "AWS"), key=lambda k: k.arn)
    return KmsPoliciesSection(key_policies=ctx.map(policy, customer))
