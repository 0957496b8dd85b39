"""CloudWatch Logs: log groups encrypted with a KMS key."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.collectors.logs import LOG_GROUPS
from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.registry import check


@check("logs.log-group-kms", needs=(LOG_GROUPS,))
def log_group_kms(inv: Inventory) -> Iterator[Finding]:
    """Logs often hold secrets and personal data by accident; a KMS key puts their reading under key policy."""
    for g in inv.logs.log_groups:
        yield Finding.of(g, passed=bool(g.kms_key_id), evidence={"kms_key_id": g.kms_key_id},
                         message=f"log group {g.name} is encrypted with {g.kms_key_id}" if g.kms_key_id
                         else f"log group {g.name} is not encrypted with a KMS key")
