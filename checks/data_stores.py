"""File systems and NoSQL tables: EFS encryption at rest, DynamoDB encryption with a KMS key."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.collectors.dynamodb import TABLE_DETAILS, TABLES, Table
from auditor.collectors.efs import FILE_SYSTEMS, FileSystem
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check


def efs_encrypted_finding(fs: FileSystem) -> Finding:
    label = f"EFS file system {fs.id}" + (f" ({fs.name})" if fs.name else "")
    return Finding.of(fs, passed=fs.encrypted, evidence={"encrypted": fs.encrypted, "kms_key_id": fs.kms_key_id or None,
                                                         "state": fs.state},
                      message=f"{label} is encrypted at rest with {fs.kms_key_id or 'a KMS key'}" if fs.encrypted
                      else f"{label} is not encrypted at rest (recreate it encrypted and copy the data)")


@check("efs.encrypted", needs=(FILE_SYSTEMS,))
def efs_encrypted(inv: Inventory) -> Iterator[Finding]:
    """EFS encryption at rest can only be chosen at creation (CIS 3.3.1)."""
    for fs in inv.efs.file_systems:
        yield efs_encrypted_finding(fs)


def key_manager(inv: Inventory, region: str, key: str) -> str | None:
    """'AWS' or 'CUSTOMER' for a KMS key ARN, id or alias, from the kms collector; None when it is not known."""
    if not key:
        return None
    if key.startswith("alias/aws/") or ":alias/aws/" in key:
        return "AWS"
    for k in inv.kms.keys:
        if k.region == region and (key in (k.arn, k.id) or key.split(":", 5)[-1] in k.aliases):
            return k.manager
    return None


def dynamodb_finding(inv: Inventory, table: Table, require_cmk: bool) -> Finding:
    enc = table.encryption
    if enc is None:
        return Finding.with_status(Status.ERROR, table, f"DynamoDB table {table.name}: encryption unreadable")
    evidence: dict[str, object] = {"sse_type": enc.sse_type or None, "sse_status": enc.status or None,
                                   "kms_key_arn": enc.kms_key_arn or None, "require_customer_managed_key": require_cmk}
    if not enc.sse_type:
        return Finding.failed(table, f"DynamoDB table {table.name} is encrypted with an AWS-owned key, not a KMS key",
                              evidence=evidence)
    if enc.sse_type != "KMS" or enc.status != "ENABLED":
        return Finding.failed(table, f"DynamoDB table {table.name} server-side encryption is {enc.sse_type} "
                              f"{enc.status or 'without status'}, not KMS ENABLED", evidence=evidence)
    if not require_cmk:
        return Finding.passed(table, f"DynamoDB table {table.name} is encrypted with KMS key {enc.kms_key_arn}",
                              evidence=evidence)
    manager = key_manager(inv, table.region, enc.kms_key_arn)
    evidence["key_manager"] = manager or "unknown"
    if manager is None:
        return Finding.with_status(Status.ERROR, table, f"DynamoDB table {table.name}: whether KMS key "
                                   f"{enc.kms_key_arn} is customer-managed could not be read", evidence)
    return Finding.of(table, passed=manager == "CUSTOMER", evidence=evidence,
                      message=f"DynamoDB table {table.name} is encrypted with customer-managed key {enc.kms_key_arn}"
                      if manager == "CUSTOMER" else f"DynamoDB table {table.name} uses the AWS-managed key "
                      "aws/dynamodb, but customer-managed keys are required")


@check("dynamodb.kms-encryption", needs=(TABLES, TABLE_DETAILS, "kms.keys"))
def dynamodb_kms_encryption(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A KMS key puts table reads under key policy and CloudTrail; the default AWS-owned key does neither.

    kms.keys tells customer-managed from AWS-managed keys when config requires customer-managed keys.
    """
    for table in inv.dynamodb.tables:
        yield dynamodb_finding(inv, table, cfg.require_customer_managed_keys)
