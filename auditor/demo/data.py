"""Demo data stores: S3 buckets, an audit-archive trail bucket and two RDS instances, good and bad side by side."""
from __future__ import annotations

import json

from auditor.demo import DemoContext, demo_step

PUBLIC_ASSETS = "acme-app-assets"
CUSTOMER_DATA = "acme-customer-data"
EU_LOGS = "acme-logs-eu"
ACCESS_LOGS = "acme-access-logs"
AUDIT_ARCHIVE = "acme-audit-archive"
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


@demo_step("data")
def data_stores(ctx: DemoContext) -> None:
    _buckets(ctx)
    _audit_archive(ctx)
    _databases(ctx)


def _buckets(ctx: DemoContext) -> None:
    # Account-level Block Public Access is deliberately left unset: the first thing a new account forgets.
    s3 = ctx.client("s3", "us-east-1")
    s3.create_bucket(Bucket=PUBLIC_ASSETS)
    s3.put_bucket_policy(Bucket=PUBLIC_ASSETS, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{PUBLIC_ASSETS}/*"}]}))
    s3.put_bucket_website(Bucket=PUBLIC_ASSETS, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.create_bucket(Bucket=ACCESS_LOGS, ACL="log-delivery-write")
    s3.put_public_access_block(Bucket=ACCESS_LOGS, PublicAccessBlockConfiguration=ALL_ON)

    kms = ctx.client("kms", "us-east-1")
    key = kms.create_key(Description="customer data bucket")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/customer-data", TargetKeyId=key["KeyId"])
    s3.create_bucket(Bucket=CUSTOMER_DATA)
    s3.put_public_access_block(Bucket=CUSTOMER_DATA, PublicAccessBlockConfiguration=ALL_ON)
    s3.put_bucket_versioning(Bucket=CUSTOMER_DATA, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(Bucket=CUSTOMER_DATA, Tagging={"TagSet": [
        {"Key": "data-classification", "Value": "confidential"}]})
    s3.put_bucket_logging(Bucket=CUSTOMER_DATA, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": ACCESS_LOGS, "TargetPrefix": f"{CUSTOMER_DATA}/"}})
    s3.put_bucket_encryption(Bucket=CUSTOMER_DATA, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]},
        "BucketKeyEnabled": True}]})
    s3.put_bucket_policy(Bucket=CUSTOMER_DATA, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{CUSTOMER_DATA}", f"arn:aws:s3:::{CUSTOMER_DATA}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))

    eu = ctx.client("s3", "eu-west-1")
    eu.create_bucket(Bucket=EU_LOGS, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_encryption(Bucket=EU_LOGS, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    ctx.notes.append(f"s3: account Block Public Access unset; {PUBLIC_ASSETS} public-read policy + website, no "
                     f"bucket BPA; {CUSTOMER_DATA} BPA + SSE-KMS + TLS-only + versioned + access-logged; "
                     f"{EU_LOGS} (eu-west-1) AES256 only")


def _audit_archive(ctx: DemoContext) -> None:
    """A second trail whose bucket is locked and logged, but kept a vendor's legacy 'any AWS user' read grant."""
    region = "eu-west-1"
    s3 = ctx.client("s3", region)
    s3.put_bucket_acl(Bucket=EU_LOGS, ACL="log-delivery-write")
    s3.create_bucket(Bucket=AUDIT_ARCHIVE, ObjectLockEnabledForBucket=True,
                     CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object_lock_configuration(Bucket=AUDIT_ARCHIVE, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}}})
    s3.put_bucket_acl(Bucket=AUDIT_ARCHIVE, ACL="authenticated-read")
    s3.put_bucket_logging(Bucket=AUDIT_ARCHIVE, BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": EU_LOGS, "TargetPrefix": f"{AUDIT_ARCHIVE}/"}})
    trail = ctx.client("cloudtrail", region)
    trail.create_trail(Name="acme-audit-archive", S3BucketName=AUDIT_ARCHIVE, EnableLogFileValidation=True)
    trail.start_logging(Name="acme-audit-archive")
    ctx.notes.append(f"cloudtrail: trail acme-audit-archive (eu-west-1) -> {AUDIT_ARCHIVE}: Object Lock "
                     "(COMPLIANCE, 365 d) and access logging, but a legacy AuthenticatedUsers READ grant")


def _databases(ctx: DemoContext) -> None:
    common = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "AllocatedStorage": 20,
              "MasterUsername": "acme", "MasterUserPassword": "demo-only-not-secret"}
    ctx.client("rds", "us-east-1").create_db_instance(
        DBInstanceIdentifier="acme-orders", StorageEncrypted=True, PubliclyAccessible=False, MultiAZ=True,
        BackupRetentionPeriod=14, AutoMinorVersionUpgrade=True, **common)
    ctx.client("rds", "eu-west-1").create_db_instance(
        DBInstanceIdentifier="acme-analytics-eu", StorageEncrypted=False, PubliclyAccessible=True, MultiAZ=False,
        BackupRetentionPeriod=1, AutoMinorVersionUpgrade=False, **common)
    ctx.notes.append("rds: acme-orders encrypted, private, Multi-AZ, 14-day backups, auto minor upgrades; "
                     "acme-analytics-eu (eu-west-1) unencrypted, public, single-AZ, 1-day backups, no auto upgrades")
