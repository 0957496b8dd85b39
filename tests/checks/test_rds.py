from __future__ import annotations

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.demo import DemoContext
from auditor.demo.data import data_stores
from auditor.demo.edge import edge
from auditor.models import Status
from tests.conftest import REGIONS, deny, only, scan, statuses

COMMON = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "AllocatedStorage": 20,
          "MasterUsername": "admin1", "MasterUserPassword": "not-a-real-secret"}


def _db(name: str, *, encrypted: bool = True, public: bool = False, region: str = "us-east-1", **extra) -> str:
    # moto omits PubliclyAccessible unless it is given, so always pass it.
    boto3.client("rds", region_name=region).create_db_instance(
        DBInstanceIdentifier=name, StorageEncrypted=encrypted, PubliclyAccessible=public, **COMMON, **extra)
    return name


def _aurora(cluster: str, member: str, *, encrypted: bool = True, **extra) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_cluster(DBClusterIdentifier=cluster, Engine="aurora-mysql", MasterUsername="admin1",
                          MasterUserPassword="not-a-real-secret", StorageEncrypted=encrypted, **extra)
    rds.create_db_instance(DBInstanceIdentifier=member, DBInstanceClass="db.r5.large", Engine="aurora-mysql",
                           DBClusterIdentifier=cluster)


def test_storage_encrypted_instances_pass_and_fail(session):
    _db("enc-db", encrypted=True, public=False)
    _db("plain-db", encrypted=False, public=False, region="eu-west-1")
    found = only(scan(session, ["rds.storage-encrypted"], regions=REGIONS), "rds.storage-encrypted")
    assert {(f.resource.id, f.region): f.status for f in found} == {
        ("enc-db", "us-east-1"): Status.PASS, ("plain-db", "eu-west-1"): Status.FAIL}
    assert all(f.resource.type == "AWS::RDS::DBInstance" for f in found)


def test_cluster_member_is_judged_through_its_cluster(session):
    _aurora("plain-cluster", "plain-member", encrypted=False)
    _aurora("enc-cluster", "enc-member", encrypted=True)
    found = only(scan(session, ["rds.storage-encrypted"]), "rds.storage-encrypted")
    assert {f.resource.id: f.status for f in found} == {"plain-cluster": Status.FAIL, "enc-cluster": Status.PASS}
    plain = next(f for f in found if f.resource.id == "plain-cluster")
    assert plain.resource.type == "AWS::RDS::DBCluster" and plain.evidence["members"] == ["plain-member"]


def test_storage_encrypted_error_when_clusters_unreadable_in_one_region(session):
    _db("enc-db", encrypted=True, public=False)
    _db("eu-db", encrypted=True, public=False, region="eu-west-1")
    deny(session, "rds.DescribeDBClusters")
    result = scan(session, ["rds.storage-encrypted", "rds.not-public"], regions=REGIONS)
    enc = only(result, "rds.storage-encrypted")
    assert {f.status for f in enc} == {Status.ERROR}
    assert {f.gap.iam_action for f in enc if f.gap} == {"rds:DescribeDBClusters"}
    # rds.not-public does not read clusters, so it is still judged.
    assert set(statuses(result, "rds.not-public")) == {Status.PASS}


def test_rds_checks_not_applicable_without_databases(session):
    result = scan(session, ["rds.*"])
    assert {f.status for f in result.findings} == {Status.NOT_APPLICABLE}


def test_not_public_pass_fail_error(session):
    _db("private-db", encrypted=True, public=False)
    _db("public-db", encrypted=True, public=True)
    found = only(scan(session, ["rds.not-public"]), "rds.not-public")
    assert {f.resource.id: f.status for f in found} == {"private-db": Status.PASS, "public-db": Status.FAIL}
    public = next(f for f in found if f.resource.id == "public-db")
    assert public.message == "DB instance public-db is publicly accessible"
    deny(session, "rds.DescribeDBInstances")
    [f] = only(scan(session, ["rds.not-public"]), "rds.not-public")
    assert f.status is Status.ERROR and f.gap.iam_action == "rds:DescribeDBInstances"


# --- rds.backups-enabled / rds.auto-minor-version-upgrade / rds.multi-az ----------------------------------

def test_backups_pass_fail_and_cluster_members(session):
    _db("kept-db", BackupRetentionPeriod=7)
    _db("short-db", BackupRetentionPeriod=3)
    _db("off-db", BackupRetentionPeriod=0, region="eu-west-1")
    _aurora("kept-cluster", "kept-member", BackupRetentionPeriod=10)
    found = only(scan(session, ["rds.backups-enabled"], regions=REGIONS), "rds.backups-enabled")
    by_id = {f.resource.id: f for f in found}
    assert {k: f.status for k, f in by_id.items()} == {
        "kept-db": Status.PASS, "short-db": Status.FAIL, "off-db": Status.FAIL, "kept-cluster": Status.PASS}
    assert "disabled" in by_id["off-db"].message and by_id["off-db"].region == "eu-west-1"
    assert by_id["short-db"].evidence == {"backup_retention_days": 3, "minimum": 7, "engine": "postgres"}
    cfg = AuditConfig(workers=4, min_backup_days=3)
    assert {f.resource.id: f.status for f in only(scan(session, ["rds.backups-enabled"], regions=REGIONS, cfg=cfg),
                                                  "rds.backups-enabled")}["short-db"] is Status.PASS


@pytest.mark.parametrize("operation", ["rds.DescribeDBInstances", "rds.DescribeDBClusters"])
def test_backups_and_multi_az_error_when_unreadable(session, operation):
    _db("kept-db", BackupRetentionPeriod=7, MultiAZ=True)
    deny(session, operation)
    result = scan(session, ["rds.backups-enabled", "rds.multi-az"])
    for f in result.findings:
        assert f.status is Status.ERROR and f.gap.iam_action == "rds:" + operation.split(".")[1]


def test_auto_minor_version_upgrade_pass_fail_error(session):
    _db("auto-db", AutoMinorVersionUpgrade=True)
    _db("manual-db", AutoMinorVersionUpgrade=False)
    _aurora("cluster", "member")  # members are DB instances with their own setting
    found = only(scan(session, ["rds.auto-minor-version-upgrade"]), "rds.auto-minor-version-upgrade")
    assert {f.resource.id: f.status for f in found} == {
        "auto-db": Status.PASS, "manual-db": Status.FAIL, "member": Status.PASS}
    assert next(f for f in found if f.resource.id == "member").evidence["cluster"] == "cluster"
    deny(session, "rds.DescribeDBInstances")
    [f] = only(scan(session, ["rds.auto-minor-version-upgrade"]), "rds.auto-minor-version-upgrade")
    assert f.status is Status.ERROR and f.gap.iam_action == "rds:DescribeDBInstances"


def test_multi_az_pass_fail_and_scope_tag(session):
    _db("ha-db", MultiAZ=True, Tags=[{"Key": "environment", "Value": "production"}])
    _db("single-db", MultiAZ=False, Tags=[{"Key": "environment", "Value": "production"}])
    _db("dev-db", MultiAZ=False, Tags=[{"Key": "environment", "Value": "dev"}])
    _aurora("single-cluster", "single-member")
    found = only(scan(session, ["rds.multi-az"]), "rds.multi-az")
    assert {f.resource.id: f.status for f in found} == {
        "ha-db": Status.PASS, "single-db": Status.FAIL, "dev-db": Status.FAIL, "single-cluster": Status.FAIL}
    cfg = AuditConfig(workers=4, multi_az_scope_tag="environment=production")
    found = only(scan(session, ["rds.multi-az"], cfg=cfg), "rds.multi-az")
    assert {f.resource.id: f.status for f in found} == {"ha-db": Status.PASS, "single-db": Status.FAIL}
    assert found[0].evidence["scope"] == "tagged environment=production"


def test_demo_data_step_plants_the_expected_verdicts(session):
    data_stores(DemoContext())
    checks = ["s3.account-public-access-block", "s3.bucket-public-access-block", "s3.default-encryption-kms",
              "s3.deny-insecure-transport", "rds.storage-encrypted", "rds.not-public"]
    result = scan(session, checks, regions=REGIONS)
    got = {(f.check_id, f.resource.id, f.region): f.status for f in result.findings}
    assert got == {
        ("s3.account-public-access-block", "account-public-access-block", "global"): Status.FAIL,
        ("s3.bucket-public-access-block", "acme-access-logs", "us-east-1"): Status.PASS,
        ("s3.bucket-public-access-block", "acme-app-assets", "us-east-1"): Status.FAIL,
        ("s3.bucket-public-access-block", "acme-audit-archive", "eu-west-1"): Status.FAIL,
        ("s3.bucket-public-access-block", "acme-customer-data", "us-east-1"): Status.PASS,
        ("s3.bucket-public-access-block", "acme-logs-eu", "eu-west-1"): Status.FAIL,
        ("s3.default-encryption-kms", "acme-access-logs", "us-east-1"): Status.FAIL,
        ("s3.default-encryption-kms", "acme-app-assets", "us-east-1"): Status.FAIL,
        ("s3.default-encryption-kms", "acme-audit-archive", "eu-west-1"): Status.FAIL,
        ("s3.default-encryption-kms", "acme-customer-data", "us-east-1"): Status.PASS,
        ("s3.default-encryption-kms", "acme-logs-eu", "eu-west-1"): Status.FAIL,
        ("s3.deny-insecure-transport", "acme-access-logs", "us-east-1"): Status.FAIL,
        ("s3.deny-insecure-transport", "acme-app-assets", "us-east-1"): Status.FAIL,
        ("s3.deny-insecure-transport", "acme-audit-archive", "eu-west-1"): Status.FAIL,
        ("s3.deny-insecure-transport", "acme-customer-data", "us-east-1"): Status.PASS,
        ("s3.deny-insecure-transport", "acme-logs-eu", "eu-west-1"): Status.FAIL,
        ("rds.storage-encrypted", "acme-orders", "us-east-1"): Status.PASS,
        ("rds.storage-encrypted", "acme-analytics-eu", "eu-west-1"): Status.FAIL,
        ("rds.not-public", "acme-orders", "us-east-1"): Status.PASS,
        ("rds.not-public", "acme-analytics-eu", "eu-west-1"): Status.FAIL,
    }


NEW_CHECKS = ["s3.bucket-not-public", "s3.versioning-enabled", "s3.mfa-delete", "s3.public-content-via-cloudfront",
              "s3.bucket-access-logging", "cloudtrail.bucket-not-public", "cloudtrail.bucket-access-logging",
              "cloudtrail.bucket-protected", "rds.backups-enabled", "rds.auto-minor-version-upgrade", "rds.multi-az",
              "edge.access-logging", "edge.https-required", "edge.waf-protection", "edge.shield-advanced"]


def test_demo_data_and_edge_steps_show_pass_and_fail(session):
    ctx = DemoContext()
    data_stores(ctx)
    edge(ctx)
    result = scan(session, NEW_CHECKS, regions=REGIONS)
    assert not result.gaps
    got: dict[str, set[Status]] = {}
    for f in result.findings:
        got.setdefault(f.check_id, set()).add(f.status)
    both = {Status.PASS, Status.FAIL}
    # informational rows never FAIL; MFA Delete cannot be turned on in moto; the one trail bucket is
    # locked and logged but public (the logging step's trail bucket supplies the other verdicts)
    assert got == {**{c: both for c in NEW_CHECKS}, "s3.public-content-via-cloudfront": {Status.PASS},
                   "edge.shield-advanced": {Status.PASS}, "s3.mfa-delete": {Status.FAIL},
                   "cloudtrail.bucket-not-public": {Status.FAIL}, "cloudtrail.bucket-access-logging": {Status.PASS},
                   "cloudtrail.bucket-protected": {Status.PASS}}
    warned = [f for f in only(result, "s3.public-content-via-cloudfront") if "warning" in f.evidence]
    assert {f.resource.id for f in warned} == {"acme-app-assets"} | {
        f.resource.id for f in only(result, "edge.waf-protection", status=Status.FAIL)}
