"""RDS: storage encryption at rest and no public endpoints."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.collectors.rds import CLUSTERS, INSTANCES
from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.registry import check


@check("rds.storage-encrypted", needs=(INSTANCES, CLUSTERS))
def storage_encrypted(inv: Inventory) -> Iterator[Finding]:
    """Storage encryption can only be chosen at creation; an unencrypted database must be copied to fix it.

    A cluster's storage is encrypted or not as a whole, so an instance that is a member of a DB cluster
    is judged once, through its cluster's finding (which lists its members), not on its own.
    """
    clusters = {(c.region, c.id) for c in inv.rds.clusters}
    for cluster in inv.rds.clusters:
        state = "encrypted" if cluster.storage_encrypted else "not encrypted"
        yield Finding.of(cluster, passed=cluster.storage_encrypted,
                         message=f"DB cluster {cluster.id} storage is {state} (judges its member instances too)",
                         evidence={"engine": cluster.engine, "kms_key_id": cluster.kms_key_id,
                                   "members": cluster.members})
    for db in inv.rds.instances:
        if db.cluster_id and (db.region, db.cluster_id) in clusters:
            continue
        state = "encrypted" if db.storage_encrypted else "not encrypted"
        yield Finding.of(db, passed=db.storage_encrypted, message=f"DB instance {db.id} storage is {state}",
                         evidence={"engine": db.engine, "kms_key_id": db.kms_key_id,
                                   "cluster": db.cluster_id or None})


@check("rds.not-public", needs=(INSTANCES,))
def not_public(inv: Inventory) -> Iterator[Finding]:
    """A publicly accessible instance gets a public DNS name and IP; only security groups stand in the way."""
    for db in inv.rds.instances:
        yield Finding.of(db, passed=not db.publicly_accessible,
                         message=f"DB instance {db.id} is publicly accessible" if db.publicly_accessible
                         else f"DB instance {db.id} is not publicly accessible",
                         evidence={"engine": db.engine, "publicly_accessible": db.publicly_accessible})
