"""RDS: encryption at rest, no public endpoints, backups, minor-version upgrades and Multi-AZ."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.collectors.rds import CLUSTERS, INSTANCES, RdsCluster
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check
from checks.s3 import tag_matches


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


def _members_judged_by_cluster(inv: Inventory) -> set[tuple[str, str]]:
    return {(c.region, c.id) for c in inv.rds.clusters}


@check("rds.backups-enabled", needs=(INSTANCES, CLUSTERS))
def backups_enabled(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Automated backups allow point-in-time recovery; 0 days turns them off. Cluster members use the cluster's."""
    clusters = _members_judged_by_cluster(inv)
    dbs = [*inv.rds.clusters, *(d for d in inv.rds.instances if (d.region, d.cluster_id) not in clusters)]
    for db in dbs:
        kind = "DB cluster" if isinstance(db, RdsCluster) else "DB instance"
        days = db.backup_retention_days
        if days is None:
            yield Finding.with_status(Status.ERROR, db, f"{kind} {db.id}: backup retention not reported")
            continue
        state = "disabled" if days == 0 else f"{days} day(s)"
        yield Finding.of(db, passed=days >= cfg.min_backup_days,
                         message=f"{kind} {db.id} keeps automated backups for {state} "
                                 f"(minimum {cfg.min_backup_days})",
                         evidence={"backup_retention_days": days, "minimum": cfg.min_backup_days, "engine": db.engine})


@check("rds.auto-minor-version-upgrade", needs=(INSTANCES,))
def auto_minor_version_upgrade(inv: Inventory) -> Iterator[Finding]:
    """Minor versions carry security fixes; without auto-upgrade they wait for someone to remember."""
    for db in inv.rds.instances:
        on = db.auto_minor_version_upgrade
        if on is None:
            yield Finding.with_status(Status.ERROR, db, f"DB instance {db.id}: AutoMinorVersionUpgrade not reported")
            continue
        yield Finding.of(db, passed=on, message=f"DB instance {db.id} auto minor version upgrade is "
                         f"{'on' if on else 'off'}", evidence={"engine": db.engine, "cluster": db.cluster_id or None})


@check("rds.multi-az", needs=(INSTANCES, CLUSTERS))
def multi_az(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A Multi-AZ database survives the loss of one Availability Zone. Cluster members are judged by their cluster."""
    clusters = _members_judged_by_cluster(inv)
    dbs = [*inv.rds.clusters, *(d for d in inv.rds.instances if (d.region, d.cluster_id) not in clusters)]
    scope = cfg.multi_az_scope_tag
    for db in dbs:
        if scope and not tag_matches(db.tags, scope):
            continue
        kind = "DB cluster" if isinstance(db, RdsCluster) else "DB instance"
        if db.multi_az is None:
            yield Finding.with_status(Status.ERROR, db, f"{kind} {db.id}: MultiAZ not reported")
            continue
        yield Finding.of(db, passed=db.multi_az, message=f"{kind} {db.id} is "
                         f"{'Multi-AZ' if db.multi_az else 'single-AZ'}",
                         evidence={"engine": db.engine, "scope": f"tagged {scope}" if scope else "all databases"})
