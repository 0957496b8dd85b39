"""RDS DB instances and DB clusters, each in its own dataset so one denied list does not taint the other."""
from __future__ import annotations

from typing import ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource

INSTANCES = "rds.db_instances"
CLUSTERS = "rds.db_clusters"


class RdsInstance(Resource):
    resource_type: ClassVar[str] = "AWS::RDS::DBInstance"
    engine: str = ""
    storage_encrypted: bool = False
    kms_key_id: str = ""
    # moto omits PubliclyAccessible unless it was given at create time; AWS always returns it (default false).
    publicly_accessible: bool = False
    cluster_id: str = ""  # set when the instance is a member of a DB cluster (Aurora, Multi-AZ cluster)
    db_subnet_group: str | None = None  # DBSubnetGroupName; None: the instance has no DB subnet group
    subnet_ids: list[str] = []  # that group's subnets
    # AWS always returns these three; None only if a response lacked them (judged as unknown, never as a pass).
    backup_retention_days: int | None = None
    auto_minor_version_upgrade: bool | None = None
    multi_az: bool | None = None
    tags: dict[str, str] = {}


class RdsCluster(Resource):
    resource_type: ClassVar[str] = "AWS::RDS::DBCluster"
    engine: str = ""
    storage_encrypted: bool = False
    kms_key_id: str = ""
    members: list[str] = []
    backup_retention_days: int | None = None
    multi_az: bool | None = None
    tags: dict[str, str] = {}


class RdsSection(Section):
    instances: list[RdsInstance] = []
    clusters: list[RdsCluster] = []


@collector("rds", section=RdsSection, regional=True, datasets={
    INSTANCES: ("rds:DescribeDBInstances",),
    CLUSTERS: ("rds:DescribeDBClusters",),
})
def collect_rds(ctx: CollectContext) -> RdsSection:
    rds = ctx.client()
    raw_instances = ctx.paginate(INSTANCES, rds, "describe_db_instances", "DBInstances") or []
    raw_clusters = ctx.paginate(CLUSTERS, rds, "describe_db_clusters", "DBClusters") or []
    instances = [RdsInstance(arn=i["DBInstanceArn"], id=i["DBInstanceIdentifier"], region=ctx.region,
                             account_id=ctx.account_id, engine=i.get("Engine", ""),
                             storage_encrypted=bool(i.get("StorageEncrypted", False)),
                             kms_key_id=i.get("KmsKeyId", ""),
                             publicly_accessible=bool(i.get("PubliclyAccessible", False)),
                             cluster_id=i.get("DBClusterIdentifier") or "",
                             db_subnet_group=(i.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
                             subnet_ids=sorted(x["SubnetIdentifier"] for x in (i.get("DBSubnetGroup") or {})
                                               .get("Subnets") or [] if x.get("SubnetIdentifier")),
                             backup_retention_days=i.get("BackupRetentionPeriod"),
                             auto_minor_version_upgrade=i.get("AutoMinorVersionUpgrade"),
                             multi_az=i.get("MultiAZ"), tags=_tags(i))
                 for i in raw_instances]
    clusters = [RdsCluster(arn=c["DBClusterArn"], id=c["DBClusterIdentifier"], region=ctx.region,
                           account_id=ctx.account_id, engine=c.get("Engine", ""),
                           storage_encrypted=bool(c.get("StorageEncrypted", False)),
                           kms_key_id=c.get("KmsKeyId", ""),
                           members=sorted(m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", [])),
                           backup_retention_days=c.get("BackupRetentionPeriod"), multi_az=c.get("MultiAZ"),
                           tags=_tags(c))
                for c in raw_clusters]
    # `or []` above is safe: a failed list recorded a gap, and the runner turns this region's findings to ERROR.
    return RdsSection(instances=sorted(instances, key=lambda r: r.id), clusters=sorted(clusters, key=lambda r: r.id))


def _tags(raw: dict) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in raw.get("TagList") or []}
