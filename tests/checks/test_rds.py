from __future__ import annotations

import boto3

from auditor.demo import DemoContext
from auditor.demo.data import data_stores
from auditor.models import Status
from tests.conftest import REGIONS, deny, only, scan, statuses

COMMON = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "AllocatedStorage": 20,
          "MasterUsername": "admin1", "MasterUserPassword": "not-a-real-secret"}


def _db(name: str, *, encrypted: bool, public: bool, region: str = "us-east-1") -> str:
    # moto omits PubliclyAccessible unless it is given, so always pass it.
    boto3.client("rds", region_name=region).create_db_instance(
        DBInstanceIdentifier=name, StorageEncrypted=encrypted, PubliclyAccessible=public, **COMMON)
    return name


def _aurora(cluster: str, member: str, *, encrypted: bool) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_cluster(DBClusterIdentifier=cluster, Engine="aurora-mysql", MasterUsername="admin1",
                          MasterUserPassword="not-a-real-secret", StorageEncrypted=encrypted)
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
    result = scan(session, ["rds.storage-encrypted", "rds.not-public"])
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


def test_demo_data_step_plants_the_expected_verdicts(session):
    data_stores(DemoContext())
    checks = ["s3.account-public-access-block", "s3.bucket-public-access-block", "s3.default-encryption-kms",
              "s3.deny-insecure-transport", "rds.storage-encrypted", "rds.not-public"]
    result = scan(session, checks, regions=REGIONS)
    got = {(f.check_id, f.resource.id, f.region): f.status for f in result.findings}
    assert got == {
        ("s3.account-public-access-block", "account-public-access-block", "global"): Status.FAIL,
        ("s3.bucket-public-access-block", "acme-app-assets", "us-east-1"): Status.FAIL,
        ("s3.bucket-public-access-block", "acme-customer-data", "us-east-1"): Status.PASS,
        ("s3.bucket-public-access-block", "acme-logs-eu", "eu-west-1"): Status.FAIL,
        ("s3.default-encryption-kms", "acme-app-assets", "us-east-1"): Status.FAIL,
        ("s3.default-encryption-kms", "acme-customer-data", "us-east-1"): Status.PASS,
        ("s3.default-encryption-kms", "acme-logs-eu", "eu-west-1"): Status.FAIL,
        ("s3.deny-insecure-transport", "acme-app-assets", "us-east-1"): Status.FAIL,
        ("s3.deny-insecure-transport", "acme-customer-data", "us-east-1"): Status.PASS,
        ("s3.deny-insecure-transport", "acme-logs-eu", "eu-west-1"): Status.FAIL,
        ("rds.storage-encrypted", "acme-orders", "us-east-1"): Status.PASS,
        ("rds.storage-encrypted", "acme-analytics-eu", "eu-west-1"): Status.FAIL,
        ("rds.not-public", "acme-orders", "us-east-1"): Status.PASS,
        ("rds.not-public", "acme-analytics-eu", "eu-west-1"): Status.FAIL,
    }
