"""CloudTrail log buckets: not public, access-logged, and protected against deletion or tampering.

Each bucket that some trail delivers to is judged once. A bucket that is not in this account's bucket list
belongs to another account (the usual log-archive set-up) or no longer exists: it cannot be inspected from
here, so it is reported as external.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.cloudtrail import TRAILS
from auditor.collectors.s3 import (
    ACCOUNT_PAB,
    BUCKET_ACL,
    BUCKET_LOGGING,
    BUCKET_OBJECT_LOCK,
    BUCKET_PAB,
    BUCKET_POLICIES,
    BUCKET_REPLICATION,
    BUCKET_VERSIONING,
    BUCKETS,
    S3Bucket,
)
from auditor.inventory import Inventory
from auditor.models import GLOBAL, Finding, ResourceRef, Status
from auditor.policy_public import bucket_exposure
from auditor.registry import check
from checks.s3 import judge_exposure, logging_finding, trail_bucket_names, unreadable

EXTERNAL = "external (log-archive)"


def _trail_buckets(inv: Inventory) -> Iterator[tuple[str, list[str], S3Bucket | None]]:
    """(bucket name, trail ARNs delivering to it, the bucket when it is in this account)."""
    mine = {b.id: b for b in inv.s3.buckets}
    for name, trails in sorted(trail_bucket_names(inv).items()):
        yield name, sorted(trails), mine.get(name)


def _external(inv: Inventory, name: str, trails: list[str], status: Status, message: str) -> Finding:
    ref = ResourceRef(arn=f"arn:{inv.partition}:s3:::{name}", id=name, type=S3Bucket.resource_type, region=GLOBAL)
    return Finding.with_status(status, ref, f"trail bucket {name} is {EXTERNAL}: {message}",
                               evidence={"trails": trails, "location": EXTERNAL})


@check("cloudtrail.bucket-not-public", needs=(TRAILS, BUCKETS, BUCKET_ACL, BUCKET_POLICIES))
def trail_bucket_not_public(inv: Inventory) -> Iterator[Finding]:
    """A public trail bucket hands an attacker a map of the account, and maybe the means to erase their tracks."""
    account = inv.s3.account_public_access_block
    for name, trails, bucket in _trail_buckets(inv):
        if bucket is None:
            yield _external(inv, name, trails, Status.NOT_APPLICABLE,
                            "not in this account, so its access is checked where it lives")
            continue
        exp = bucket_exposure(bucket, account)
        if exp is None:
            yield Finding.with_status(Status.ERROR, bucket, f"trail bucket {name}: ACL or policy unreadable")
        elif exp.public is None:
            yield unreadable(inv, bucket, f"trail bucket {name} is public unless Block Public Access neutralises it, "
                             "which could not be read", BUCKET_PAB, ACCOUNT_PAB)
        else:
            f = judge_exposure(bucket, exp, what="trail bucket")
            yield f.model_copy(update={"evidence": {**f.evidence, "trails": trails}})


@check("cloudtrail.bucket-access-logging", needs=(TRAILS, BUCKETS, BUCKET_LOGGING))
def trail_bucket_access_logging(inv: Inventory) -> Iterator[Finding]:
    """Access logs on the trail bucket show who read or deleted the audit log itself (CIS 4.4)."""
    for name, trails, bucket in _trail_buckets(inv):
        if bucket is None:
            yield _external(inv, name, trails, Status.NOT_APPLICABLE,
                            "not in this account, so its access logging is checked where it lives")
        elif bucket.logging is None:
            yield Finding.with_status(Status.ERROR, bucket, f"trail bucket {name}: access logging unreadable")
        else:
            yield logging_finding(bucket, "trail bucket", {"trails": trails})


@check("cloudtrail.bucket-protected",
       needs=(TRAILS, BUCKETS, BUCKET_VERSIONING, BUCKET_OBJECT_LOCK, BUCKET_REPLICATION))
def trail_bucket_protected(inv: Inventory) -> Iterator[Finding]:
    """Logs kept in this account survive its compromise only if versioned and locked or copied out of the account."""
    own = {b.id for b in inv.s3.buckets}
    for name, trails, bucket in _trail_buckets(inv):
        if bucket is None:
            yield _external(inv, name, trails, Status.PASS, "held outside this account, out of reach of its admins")
            continue
        if bucket.versioning is None:
            yield Finding.with_status(Status.ERROR, bucket, f"trail bucket {name}: versioning unreadable")
            continue
        evidence: dict[str, Any] = {"trails": trails, "versioning": bucket.versioning.status or "never enabled"}
        if not bucket.versioning.enabled:
            yield Finding.failed(bucket, f"trail bucket {name} is in this account and not versioned, so deleted or "
                                 "overwritten logs are gone", evidence=evidence)
            continue
        if bucket.object_lock is None or bucket.replication is None:
            yield Finding.with_status(Status.ERROR, bucket, f"trail bucket {name}: Object Lock or replication "
                                      "unreadable")
            continue
        lock = bucket.object_lock
        targets = sorted({r.destination_account or r.destination_bucket for r in bucket.replication
                          if r.status == "Enabled" and _other_account(r.destination_account, r.destination_bucket,
                                                                      inv.account_id, own)})
        evidence.update(object_lock=lock.enabled, object_lock_mode=lock.mode or None,
                        object_lock_days=lock.days, object_lock_years=lock.years, replicates_to=targets)
        if lock.enabled or targets:
            how = (["Object Lock" + (f" ({lock.mode})" if lock.mode else "")] if lock.enabled else []) \
                + ([f"replication to {', '.join(targets)}"] if targets else [])
            yield Finding.passed(bucket, f"trail bucket {name} is versioned with {' and '.join(how)}",
                                 evidence=evidence)
        else:
            yield Finding.failed(bucket, f"trail bucket {name} is versioned but has neither Object Lock nor "
                                 "replication to another account", evidence=evidence)


def _other_account(account: str, bucket_arn: str, me: str, own: set[str]) -> bool:
    """A rule's target is elsewhere when it names another owner account, or its bucket is not one of ours."""
    if account:
        return account != me
    return bucket_arn.rsplit(":", 1)[-1] not in own
