"""S3: Block Public Access (account and bucket), default encryption with KMS, TLS-only bucket policies."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from auditor.collectors.s3 import (
    ACCOUNT_PAB,
    BUCKET_ENCRYPTION,
    BUCKET_PAB,
    BUCKET_POLICIES,
    BUCKETS,
    PAB_FLAGS,
    S3Bucket,
)
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.policy import Statement, action_matches, statements
from auditor.registry import check

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


@check("s3.account-public-access-block", needs=(ACCOUNT_PAB,))
def account_public_access_block(inv: Inventory) -> Iterator[Finding]:
    """Account-wide Block Public Access is the one switch that keeps any new bucket from going public."""
    ref = inv.setting("s3", "account-public-access-block")
    pab = inv.s3.account_public_access_block
    if pab is None:
        yield Finding.with_status(Status.ERROR, ref, "account S3 Block Public Access could not be read")
        return
    off = pab.off()
    if not pab.configured:
        msg = "account-level S3 Block Public Access is not configured"
    elif off:
        msg = f"account-level S3 Block Public Access has {', '.join(off)} off"
    else:
        msg = "account-level S3 Block Public Access has all four settings on"
    yield Finding.of(ref, passed=not off, message=msg, evidence={"configured": pab.configured, **pab.flags})


@check("s3.bucket-public-access-block", needs=(BUCKETS, BUCKET_PAB, ACCOUNT_PAB))
def bucket_public_access_block(inv: Inventory) -> Iterator[Finding]:
    """Each of the four flags must be on at bucket or account level (S3 applies the stricter of the two)."""
    account = inv.s3.account_public_access_block
    for bucket in inv.s3.buckets:
        if bucket.public_access_block is None or account is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: Block Public Access unreadable")
            continue
        own = bucket.public_access_block
        effective = {f: own.flags.get(f, False) or account.flags.get(f, False) for f in PAB_FLAGS}
        off = [f for f, on in effective.items() if not on]
        evidence = {"bucket_configured": own.configured, "bucket": own.flags,
                    "account_configured": account.configured, "account": account.flags, "effective": effective}
        if off:
            msg = f"bucket {bucket.id} has {', '.join(off)} off at both bucket and account level"
        elif own.all_on:
            msg = f"bucket {bucket.id} blocks public access at bucket level"
        else:
            msg = f"bucket {bucket.id} blocks public access (account-level settings fill the gaps)"
        yield Finding.of(bucket, passed=not off, message=msg, evidence=evidence)


@check("s3.default-encryption-kms", needs=(BUCKETS, BUCKET_ENCRYPTION))
def default_encryption_kms(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Default SSE-KMS puts object reads under KMS key policy and CloudTrail; SSE-S3 (AES256) does not."""
    for bucket in inv.s3.buckets:
        enc = bucket.encryption
        if enc is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: default encryption unreadable")
            continue
        # No rule: S3 has applied SSE-S3 to every new object since January 2023.
        rule = enc.rules[0] if enc.configured and enc.rules else None
        algorithm = rule.algorithm if rule else "AES256"
        key = rule.kms_key_id if rule else ""
        evidence = {"configured": enc.configured, "algorithm": algorithm, "kms_key_id": key,
                    "bucket_key_enabled": bool(rule and rule.bucket_key_enabled)}
        if algorithm not in KMS_ALGORITHMS:
            how = "no default encryption rule (SSE-S3 applies)" if rule is None else f"default encryption {algorithm}"
            yield Finding.failed(bucket, f"bucket {bucket.id} has {how}, not SSE-KMS", evidence=evidence)
        elif cfg.require_customer_managed_keys and _aws_managed_key(key):
            yield Finding.failed(bucket, f"bucket {bucket.id} uses {algorithm} with the AWS-managed key aws/s3, "
                                 "but customer-managed keys are required", evidence=evidence)
        else:
            yield Finding.passed(bucket, f"bucket {bucket.id} defaults to {algorithm}"
                                 + (f" with key {key}" if key else " with the AWS-managed key"), evidence=evidence)


def _aws_managed_key(key_id: str) -> bool:
    return not key_id or key_id == "alias/aws/s3" or key_id.endswith(":alias/aws/s3")


@check("s3.deny-insecure-transport", needs=(BUCKETS, BUCKET_POLICIES))
def deny_insecure_transport(inv: Inventory) -> Iterator[Finding]:
    """A Deny for everyone on s3:* when aws:SecureTransport is false keeps data off plain HTTP (CIS 3.1.1)."""
    for bucket in inv.s3.buckets:
        if bucket.policy is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: bucket policy unreadable")
            continue
        if not bucket.policy.exists:
            yield Finding.failed(bucket, f"bucket {bucket.id} has no bucket policy, so plain-HTTP requests "
                                 "are not denied", evidence={"policy": False})
            continue
        try:
            stmts = statements(bucket.policy.document)
        except ValueError:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: bucket policy is not valid JSON")
            continue
        labels = [s.sid or f"statement {i}" for i, s in enumerate(stmts) if _denies_insecure(s)]
        yield _judge_tls(bucket, [s for s in stmts if _denies_insecure(s)], labels)


def _judge_tls(bucket: S3Bucket, denying: list[Statement], labels: list[str]) -> Finding:
    targets = {"bucket": bucket.arn, "objects": f"{bucket.arn}/*"}
    uncovered = [name for name, arn in targets.items()
                 if not any(fnmatch.fnmatchcase(arn, pattern) for s in denying for pattern in s.resources)]
    evidence = {"policy": True, "denying_statements": labels,
                "not_covered": uncovered}
    if not denying:
        return Finding.failed(bucket, f"bucket {bucket.id} policy has no Deny of s3:* for Principal '*' when "
                              "aws:SecureTransport is false", evidence=evidence)
    if uncovered:
        return Finding.failed(bucket, f"bucket {bucket.id} TLS-only Deny does not cover the "
                              f"{' and '.join(uncovered)} ({', '.join(targets[n] for n in uncovered)})",
                              evidence=evidence)
    return Finding.passed(bucket, f"bucket {bucket.id} policy denies requests without TLS", evidence=evidence)


def _denies_insecure(stmt: Statement) -> bool:
    """Deny, Principal '*', every S3 action, and only an insecure-transport condition (any other key narrows it)."""
    if stmt.effect != "Deny" or not stmt.principal_star or stmt.not_actions or stmt.not_resources:
        return False
    if not any(p.endswith("*") and action_matches(p, "s3:*") for p in stmt.actions):
        return False
    keys = {k.lower() for kv in stmt.conditions.values() for k in kv}
    if keys == {"aws:securetransport"} and stmt.has_condition("aws:SecureTransport", ("Bool", "BoolIfExists")):
        values = _values(stmt, ("Bool", "BoolIfExists"), "aws:securetransport")
        return bool(values) and all(v.lower() == "false" for v in values)
    if keys == {"s3:tlsversion"} and stmt.has_condition("s3:TlsVersion",
                                                        ("NumericLessThan", "NumericLessThanIfExists")):
        values = _values(stmt, ("NumericLessThan", "NumericLessThanIfExists"), "s3:tlsversion")
        return bool(values) and all(_number(v) >= 1.2 for v in values)
    return False


def _values(stmt: Statement, operators: tuple[str, ...], key: str) -> list[str]:
    if any(op not in operators for op in stmt.conditions):
        return []  # the key is also tested under another operator: not the plain rule
    return [v for op in operators for k, vals in stmt.conditions.get(op, {}).items() if k.lower() == key
            for v in vals]


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0
