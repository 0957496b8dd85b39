"""KMS key hygiene."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.registry import check


@check("kms.cmk-rotation", needs=("kms.keys", "kms.rotation"))
def cmk_rotation(inv: Inventory) -> Iterator[Finding]:
    """Customer-managed symmetric keys rotate their key material yearly (CIS 4.6)."""
    for key in inv.kms.keys:
        if key.manager == "CUSTOMER" and key.spec == "SYMMETRIC_DEFAULT" and key.state == "Enabled" \
                and key.origin == "AWS_KMS":
            yield Finding.of(key, passed=bool(key.rotation_enabled),
                             message=f"key {key.id} rotation {'enabled' if key.rotation_enabled else 'disabled'}",
                             evidence={"aliases": key.aliases})


@check("kms.no-pending-deletion", needs=("kms.keys",))
def no_pending_deletion(inv: Inventory) -> Iterator[Finding]:
    """A customer key scheduled for deletion is an accident or an attack in progress."""
    for key in inv.kms.keys:
        if key.manager != "CUSTOMER":
            continue
        pending = key.state == "PendingDeletion"
        when = key.deletion_date.isoformat() if key.deletion_date else "unknown"
        yield Finding.of(key, passed=not pending, evidence={"state": key.state, "aliases": key.aliases},
                         message=f"key {key.id} is pending deletion (on {when})" if pending
                         else f"key {key.id} is {key.state}")
