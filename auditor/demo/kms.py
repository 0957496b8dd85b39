"""Demo KMS: one rotating key, one forgotten key."""
from __future__ import annotations

from auditor.demo import DemoContext, demo_step


@demo_step("kms")
def kms_keys(ctx: DemoContext) -> None:
    kms = ctx.client("kms", "us-east-1")
    good = kms.create_key(Description="app data")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=good)
    kms.create_alias(AliasName="alias/app-data", TargetKeyId=good)
    stale = ctx.client("kms", "eu-west-1").create_key(Description="old experiment")["KeyMetadata"]["KeyId"]
    ctx.notes.append(f"kms: {good} rotates, {stale} (eu-west-1) does not")
