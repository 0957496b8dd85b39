"""Messaging and secrets: SQS/SNS encryption with KMS, Secrets Manager rotation, and resource policies that
open a queue, topic, function, key, secret, event bus, vault or bucket to the world."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from auditor.collectors.event_buses import EVENT_BUSES
from auditor.collectors.glacier import VAULT_POLICIES, VAULTS
from auditor.collectors.kms_policies import KEY_POLICIES
from auditor.collectors.lambda_policies import FUNCTION_POLICIES
from auditor.collectors.s3 import BUCKET_POLICIES, BUCKETS
from auditor.collectors.secretsmanager import SECRET_POLICIES, SECRETS, Secret
from auditor.collectors.sns import TOPIC_ATTRIBUTES, TOPICS, Topic
from auditor.collectors.sqs import QUEUE_ATTRIBUTES, QUEUES, Queue
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Resource, Status
from auditor.policy import labelled
from auditor.policy_public import S3_RESTRICTING_KEYS, public_statements
from auditor.registry import check

SSE_SQS_WARNING = "encrypted with SQS-managed keys (SSE-SQS), not with a KMS key"


def _aws_managed_alias(key: str) -> bool:
    return key.startswith("alias/aws/") or ":alias/aws/" in key


def sqs_finding(q: Queue) -> Finding:
    if not q.attributes_read:
        return Finding.with_status(Status.ERROR, q, f"SQS queue {q.name}: attributes unreadable")
    evidence: dict[str, Any] = {"kms_master_key_id": q.kms_master_key_id, "sqs_managed_sse": q.sqs_managed_sse}
    if q.kms_master_key_id:
        evidence["aws_managed_key"] = _aws_managed_alias(q.kms_master_key_id)
        return Finding.passed(q, f"SQS queue {q.name} is encrypted with KMS key {q.kms_master_key_id}",
                              evidence=evidence)
    if q.sqs_managed_sse:
        return Finding.passed(q, f"SQS queue {q.name} is {SSE_SQS_WARNING} (warning)",
                              evidence={**evidence, "warning": SSE_SQS_WARNING})
    return Finding.failed(q, f"SQS queue {q.name} is not encrypted at rest", evidence=evidence)


@check("sqs.kms-encryption", needs=(QUEUES, QUEUE_ATTRIBUTES))
def sqs_kms_encryption(inv: Inventory) -> Iterator[Finding]:
    """Messages at rest under a KMS key; SSE-SQS encrypts too, but outside KMS key policy and CloudTrail."""
    for q in inv.sqs.queues:
        yield sqs_finding(q)


def sns_finding(t: Topic) -> Finding:
    if not t.attributes_read:
        return Finding.with_status(Status.ERROR, t, f"SNS topic {t.name}: attributes unreadable")
    key = t.kms_master_key_id
    evidence = {"kms_master_key_id": key, "aws_managed_key": bool(key) and _aws_managed_alias(key or "")}
    return Finding.of(t, passed=bool(key), evidence=evidence,
                      message=f"SNS topic {t.name} is encrypted with KMS key {key}" if key
                      else f"SNS topic {t.name} is not encrypted with a KMS key")


@check("sns.kms-encryption", needs=(TOPICS, TOPIC_ATTRIBUTES))
def sns_kms_encryption(inv: Inventory) -> Iterator[Finding]:
    """Messages stored by SNS are encrypted at rest only when the topic has a KMS key."""
    for t in inv.sns.topics:
        yield sns_finding(t)


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$", re.IGNORECASE)


def _interval(s: Secret) -> timedelta | None:
    if s.rotation_days:
        return timedelta(days=s.rotation_days)
    m = _RATE.match(s.rotation_schedule.strip())
    if m:
        n = int(m.group(1))
        return timedelta(hours=n) if m.group(2).lower().startswith("hour") else timedelta(days=n)
    return None  # cron(...) schedules: NextRotationDate tells when rotation is due


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


@check("secretsmanager.rotation", needs=(SECRETS,))
def secrets_rotation(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A secret that never rotates stays valid for as long as anyone who ever saw it remembers it."""
    now, grace = cfg.clock(), timedelta(days=cfg.secret_rotation_grace_days)
    for s in inv.secretsmanager.secrets:
        interval = _interval(s)
        last = s.last_rotated or s.created
        evidence: dict[str, Any] = {
            "rotation_enabled": s.rotation_enabled, "interval_days": interval.total_seconds() / 86400 if interval
            else None, "schedule": s.rotation_schedule or None, "last_rotated": _iso(s.last_rotated),
            "created": _iso(s.created), "next_rotation": _iso(s.next_rotation), "grace_days": grace.days,
            "owning_service": s.owning_service or None}
        if not s.rotation_enabled:
            yield Finding.failed(s, f"secret {s.name} does not rotate automatically", evidence=evidence)
            continue
        due = (last + interval + grace) if interval and last else (s.next_rotation + grace if s.next_rotation
                                                                      else None)
        evidence["overdue_since"] = _iso(due) if due and now > due else None
        if due and now > due:
            yield Finding.failed(s, f"secret {s.name} rotation is overdue: last rotated "
                                 f"{last.date() if last else 'never'}, due by {due.date()}", evidence=evidence)
        else:
            every = "" if not interval else f" every {interval.days} day(s)" if interval.days \
                else f" every {int(interval.total_seconds() // 3600)} hour(s)"
            yield Finding.passed(s, f"secret {s.name} rotates automatically{every}", evidence=evidence)


# --- policy.resource-policies-not-public -------------------------------------------------------------------------

def _policy_subjects(inv: Inventory) -> Iterable[tuple[str, Resource, bool, str | None, tuple[str, ...]]]:
    """(kind, resource, readable, policy document or None, service-specific restricting keys)."""
    for q in inv.sqs.queues:
        yield "SQS queue", q, q.attributes_read, q.policy, ()
    for t in inv.sns.topics:
        yield "SNS topic", t, t.attributes_read, t.policy, ()
    for f in inv.lambda_policies.functions:
        yield "Lambda function", f, f.policy_read, f.policy, ()
    for k in inv.kms_policies.key_policies:
        yield "KMS key", k, k.policy_read, k.policy, ("kms:CallerAccount",)
    for s in inv.secretsmanager.secrets:
        yield "secret", s, s.policy_read, s.policy, ()
    for b in inv.event_buses.buses:
        yield "event bus", b, True, b.policy, ()
    for v in inv.glacier.vaults:
        yield "Glacier vault", v, v.policy_read, v.policy, ()
    for bucket in inv.s3.buckets:
        pol = bucket.policy
        yield "S3 bucket", bucket, pol is not None, pol.document if pol else None, S3_RESTRICTING_KEYS


def policy_finding(kind: str, res: Resource, readable: bool, doc: str | None, keys: tuple[str, ...]) -> Finding:
    name = f"{kind} {getattr(res, 'name', '') or res.id}"
    if not readable:
        return Finding.with_status(Status.ERROR, res, f"{name}: resource policy unreadable")
    if doc is None:
        return Finding.passed(res, f"{name} has no resource policy", evidence={"kind": kind, "policy": False})
    try:
        public = public_statements(doc, keys)
        labels = [label for label, s in labelled(doc) if s in public]
    except (ValueError, TypeError, AttributeError):
        return Finding.with_status(Status.ERROR, res, f"{name}: resource policy is not a valid policy document")
    evidence = {"kind": kind, "policy": True, "public_statements": labels,
                "public_actions": sorted({a for s in public for a in (s.actions or s.not_actions)})}
    if public:
        return Finding.failed(res, f"{name} policy statement {', '.join(labels)} allows Principal '*' without a "
                              "restricting condition", evidence=evidence)
    return Finding.passed(res, f"{name} policy does not allow public access", evidence=evidence)


@check("policy.resource-policies-not-public", needs=(
        QUEUES, QUEUE_ATTRIBUTES, TOPICS, TOPIC_ATTRIBUTES, FUNCTION_POLICIES, KEY_POLICIES, SECRETS,
        SECRET_POLICIES, EVENT_BUSES, VAULTS, VAULT_POLICIES, BUCKETS, BUCKET_POLICIES))
def resource_policies_not_public(inv: Inventory) -> Iterator[Finding]:
    """Allow to Principal '*' with no condition on the caller's account, organization, VPC or source (CIS 2.21).

    S3 buckets are judged on their policy alone; Block Public Access and ACLs are s3.bucket-not-public's part.
    """
    for subject in _policy_subjects(inv):
        yield policy_finding(*subject)
