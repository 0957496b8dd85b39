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
    vendor = kms.create_key(Description="payments vendor integration")["KeyMetadata"]["Arn"]
    ctx.denied.append(("kms.GetKeyRotationStatus", vendor))  # its key policy does not admit the auditor
    ctx.notes.append(f"kms: {good} rotates, {stale} (eu-west-1) does not, {vendor} is unreadable")
