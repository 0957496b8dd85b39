"""encryption.kms-everywhere: one account-level roll-up of the data-store encryption checks.

It runs the listed checks themselves (through the runner, so gaps and crashes count exactly as they do there)
and passes only when every one of them passes. A listed check that no module implements, or whose data was not
collected, is reported in the evidence as not evaluated.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import checks.data_stores
import checks.ec2
import checks.logs
import checks.messaging
import checks.rds
import checks.s3  # noqa: F401 - importing registers the rolled-up checks, whose needs this check inherits
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import CHECKS, check
from auditor.runner import evaluate

ROLLED_UP = ("s3.default-encryption-kms", "ec2.ebs-default-encryption", "ec2.ebs-volumes-encrypted",
             "ec2.ebs-snapshots-encrypted", "rds.storage-encrypted", "dynamodb.kms-encryption", "sqs.kms-encryption",
             "sns.kms-encryption", "logs.log-group-kms", "efs.encrypted")
NEEDS = tuple(sorted({d for cid in ROLLED_UP if cid in CHECKS for d in CHECKS.get(cid).needs}))
MAX_LISTED = 10


def _summary(findings: list[Finding]) -> dict[str, Any]:
    count = {s: sum(f.status is s for f in findings) for s in (Status.PASS, Status.FAIL, Status.ERROR)}
    status = Status.FAIL if count[Status.FAIL] else Status.ERROR if count[Status.ERROR] \
        else Status.PASS if count[Status.PASS] else Status.NOT_APPLICABLE
    failing = sorted(f.resource.id for f in findings if f.status is Status.FAIL)
    return {"status": status.value, "pass": count[Status.PASS], "fail": count[Status.FAIL],
            "error": count[Status.ERROR], "warnings": sum("warning" in f.evidence for f in findings),
            "failing": failing[:MAX_LISTED] + ([f"... {len(failing) - MAX_LISTED} more"]
                                               if len(failing) > MAX_LISTED else [])}


@check("encryption.kms-everywhere", needs=NEEDS)
def kms_everywhere(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Source 002: every AWS service that stores data should encrypt it with KMS (informational roll-up)."""
    results: dict[str, dict[str, Any]] = {}
    not_evaluated: dict[str, str] = {}
    for cid in ROLLED_UP:
        if cid not in CHECKS:
            not_evaluated[cid] = "no check implements it yet"
            continue
        spec = CHECKS.get(cid)
        missing = [d for d in spec.needs if d not in inv.datasets]
        if missing:
            not_evaluated[cid] = f"not collected: {', '.join(missing)}"
            continue
        results[cid] = _summary(evaluate(inv, [spec], cfg))
    failed = [cid for cid, r in results.items() if r["status"] == Status.FAIL.value]
    errors = [cid for cid, r in results.items() if r["status"] == Status.ERROR.value]
    evidence = {"checks": results, "not_evaluated": not_evaluated}
    ref = inv.account()
    if failed:
        detail = ", ".join(f"{cid} ({results[cid]['fail']} resource(s))" for cid in failed)
        yield Finding.failed(ref, f"{len(failed)} of {len(results)} data-store encryption checks fail: {detail}",
                             evidence=evidence)
    elif errors:
        yield Finding.with_status(Status.ERROR, ref, f"data-store encryption could not be judged: "
                                  f"{', '.join(errors)} could not be read", evidence)
    elif not results:
        yield Finding.with_status(Status.ERROR, ref, "none of the data-store encryption checks could be evaluated",
                                  evidence)
    else:
        skipped = f" (not evaluated: {', '.join(not_evaluated)})" if not_evaluated else ""
        yield Finding.passed(ref, f"all {len(results)} evaluated data-store encryption checks pass{skipped}",
                             evidence=evidence)
