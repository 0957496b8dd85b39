"""S3: Block Public Access, default encryption with KMS, TLS-only policies, versioning and access logging.

Public exposure (ACL, policy, neutralised by Block Public Access) is `bucket_exposure`, which the CloudTrail
bucket checks (checks/trail_buckets.py) and the CloudFront origin check (checks/edge.py) reuse.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from auditor.collectors.cloudtrail import TRAILS
from auditor.collectors.s3 import (
    ACCOUNT_PAB,
    BUCKET_ACL,
    BUCKET_ENCRYPTION,
    BUCKET_LOGGING,
    BUCKET_PAB,
    BUCKET_POLICIES,
    BUCKET_TAGS,
    BUCKET_VERSIONING,
    BUCKETS,
    PAB_FLAGS,
    S3Bucket,
)
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Resource, ResourceRef, Status
from auditor.policy import Statement, action_matches, statements
from auditor.policy_public import Exposure, bucket_exposure
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


# --- public exposure ----------------------------------------------------------------------------------------

def unreadable(inv: Inventory, resource: Resource | ResourceRef, message: str, *datasets: str) -> Finding:
    """ERROR for data a check reads but does not list in `needs`; carries the recorded gap when there is one."""
    ref = resource.ref() if isinstance(resource, Resource) else resource
    gap = next((g for g in inv.gaps if g.dataset in datasets and g.resource_id in (None, ref.arn)), None)
    return Finding.with_status(Status.ERROR, ref, message).model_copy(update={"gap": gap})


@check("s3.bucket-not-public", needs=(BUCKETS, BUCKET_ACL, BUCKET_POLICIES))
def bucket_not_public(inv: Inventory) -> Iterator[Finding]:
    """A public ACL grant or an unconditioned Allow to '*' exposes a bucket unless Block Public Access overrides."""
    account = inv.s3.account_public_access_block
    for bucket in inv.s3.buckets:
        exp = bucket_exposure(bucket, account)
        if exp is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: ACL or policy unreadable")
        elif exp.public is None:
            yield unreadable(inv, bucket, f"bucket {bucket.id} is public unless Block Public Access neutralises it, "
                             "which could not be read", BUCKET_PAB, ACCOUNT_PAB)
        else:
            yield judge_exposure(bucket, exp)


def judge_exposure(bucket: S3Bucket, exp: Exposure, what: str = "bucket") -> Finding:
    if exp.public:
        return Finding.failed(bucket, f"{what} {bucket.id} is public: {exp.describe()}", evidence=exp.evidence())
    off = exp.neutralised()
    msg = f"{what} {bucket.id} has public grants that {' and '.join(off)} neutralises" if off \
        else f"{what} {bucket.id} is not public"
    return Finding.passed(bucket, msg, evidence=exp.evidence())


# --- versioning, MFA Delete, access logging -------------------------------------------------------------------

def tag_matches(tags: dict[str, str], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    return key in tags and (not sep or tags[key] == value)


def trail_bucket_names(inv: Inventory) -> dict[str, list[str]]:
    """Bucket name -> the trails (ARNs) that deliver to it."""
    out: dict[str, list[str]] = {}
    for t in inv.cloudtrail.unique_trails():
        if t.s3_bucket:
            out.setdefault(t.s3_bucket, []).append(t.arn)
    return out


def _scoped(inv: Inventory, cfg: AuditConfig, scope: str, trail_buckets: dict[str, list[str]] | None = None
            ) -> Iterator[tuple[S3Bucket, str | None]]:
    """(bucket, why it is in scope) for buckets in scope; why=None means the tags needed to decide were unreadable."""
    for bucket in inv.s3.buckets:
        if scope == "all":
            yield bucket, "all buckets"
        elif trail_buckets is not None and bucket.id in trail_buckets:
            yield bucket, "CloudTrail log bucket"
        elif bucket.tags is None:
            yield bucket, None
        elif tag_matches(bucket.tags, cfg.data_classification_tag):
            yield bucket, f"tagged {cfg.data_classification_tag}"


@check("s3.versioning-enabled", needs=(BUCKETS, BUCKET_VERSIONING))
def versioning_enabled(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Versioning keeps overwritten and deleted objects recoverable (ransomware, mistakes, log tampering)."""
    for bucket, why in _scoped(inv, cfg, cfg.s3_versioning_scope):
        if why is None:
            yield unreadable(inv, bucket, f"bucket {bucket.id}: tags unreadable, scope unknown", BUCKET_TAGS)
        elif bucket.versioning is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: versioning unreadable")
        else:
            state = bucket.versioning.status or "never enabled"
            yield Finding.of(bucket, passed=bucket.versioning.enabled, message=f"bucket {bucket.id} versioning is "
                             f"{state}", evidence={"status": state, "scope": why})


@check("s3.mfa-delete", needs=(BUCKETS, BUCKET_VERSIONING, TRAILS))
def mfa_delete(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """MFA Delete makes permanently deleting a version, or suspending versioning, require the root user's MFA."""
    for bucket, why in _scoped(inv, cfg, cfg.s3_mfa_delete_scope, trail_bucket_names(inv)):
        if why is None:
            yield unreadable(inv, bucket, f"bucket {bucket.id}: tags unreadable, scope unknown", BUCKET_TAGS)
        elif bucket.versioning is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: versioning unreadable")
        else:
            v = bucket.versioning
            on = v.mfa_delete == "Enabled"
            yield Finding.of(bucket, passed=on, message=f"bucket {bucket.id} MFA Delete is "
                             f"{'enabled' if on else 'not enabled'} (versioning {v.status or 'never enabled'})",
                             evidence={"mfa_delete": v.mfa_delete or "never set", "versioning": v.status or "never "
                                       "enabled", "scope": why})


@check("s3.bucket-access-logging", needs=(BUCKETS, BUCKET_LOGGING))
def bucket_access_logging(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Server access logs record every request to a bucket: a cheap alternative to CloudTrail data events."""
    for bucket, why in _scoped(inv, cfg, cfg.s3_access_logging_scope):
        if why is None:
            yield unreadable(inv, bucket, f"bucket {bucket.id}: tags unreadable, scope unknown", BUCKET_TAGS)
        elif bucket.logging is None:
            yield Finding.with_status(Status.ERROR, bucket, f"bucket {bucket.id}: access logging unreadable")
        else:
            yield logging_finding(bucket, "bucket", {"scope": why})


def logging_finding(bucket: S3Bucket, what: str, evidence: dict[str, Any]) -> Finding:
    log = bucket.logging
    assert log is not None
    if not log.enabled:
        return Finding.failed(bucket, f"{what} {bucket.id} has no server access logging",
                              evidence={**evidence, "logging": False})
    return Finding.passed(bucket, f"{what} {bucket.id} logs access to s3://{log.target_bucket}/{log.target_prefix}",
                          evidence={**evidence, "logging": True, "target_bucket": log.target_bucket,
                                    "target_prefix": log.target_prefix})
