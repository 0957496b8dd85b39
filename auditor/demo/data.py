"""Demo data stores: three S3 buckets and two RDS instances, good and bad side by side."""
from __future__ import annotations

import json

from auditor.demo import DemoContext, demo_step

PUBLIC_ASSETS = "acme-app-assets"
CUSTOMER_DATA = "acme-customer-data"
EU_LOGS = "acme-logs-eu"


@demo_step("data")
def data_stores(ctx: DemoContext) -> None:
    _buckets(ctx)
    _databases(ctx)


def _buckets(ctx: DemoContext) -> None:
    # Account-level Block Public Access is deliberately left unset: the first thing a new account forgets.
    s3 = ctx.client("s3", "us-east-1")
    s3.create_bucket(Bucket=PUBLIC_ASSETS)
    s3.put_bucket_policy(Bucket=PUBLIC_ASSETS, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{PUBLIC_ASSETS}/*"}]}))

    kms = ctx.client("kms", "us-east-1")
    key = kms.create_key(Description="customer data bucket")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/customer-data", TargetKeyId=key["KeyId"])
    s3.create_bucket(Bucket=CUSTOMER_DATA)
    s3.put_public_access_block(Bucket=CUSTOMER_DATA, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
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
    ctx.notes.append(f"s3: account Block Public Access unset; {PUBLIC_ASSETS} public-read policy, no bucket BPA; "
                     f"{CUSTOMER_DATA} BPA + SSE-KMS + TLS-only; {EU_LOGS} (eu-west-1) AES256 only")


def _databases(ctx: DemoContext) -> None:
    common = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "AllocatedStorage": 20,
              "MasterUsername": "acme", "MasterUserPassword": "demo-only-not-secret"}
    ctx.client("rds", "us-east-1").create_db_instance(
        DBInstanceIdentifier="acme-orders", StorageEncrypted=True, PubliclyAccessible=False, **common)
    ctx.client("rds", "eu-west-1").create_db_instance(
        DBInstanceIdentifier="acme-analytics-eu", StorageEncrypted=False, PubliclyAccessible=True, **common)
    ctx.notes.append("rds: acme-orders encrypted and private; acme-analytics-eu (eu-west-1) unencrypted and public")
