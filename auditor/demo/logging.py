"""Demo logging and detection: a first-week setup that only ever looked at us-east-1.

One single-region trail (no log validation, no KMS, no CloudWatch Logs) writing to a bucket with the policy
CloudTrail needs; GuardDuty and AWS Config in us-east-1 only; Security Hub never enabled.
"""
from __future__ import annotations

import json

from auditor.demo import DemoContext, demo_step

ACCOUNT = "123456789012"  # moto's default account
TRAIL = "main-trail"
TRAIL_BUCKET = f"demo-cloudtrail-logs-{ACCOUNT}"


def _log_bucket_policy(region: str) -> str:
    """What CloudTrail and Config need to write, scoped to this trail and account; TLS only."""
    source = f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{TRAIL}"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}",
         "Condition": {"StringEquals": {"aws:SourceArn": source}}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{ACCOUNT}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": source}}},
        {"Sid": "AWSConfigBucketPermissionsCheck", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}",
         "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT}}},
        {"Sid": "AWSConfigBucketDelivery", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{ACCOUNT}/Config/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "AWS:SourceAccount": ACCOUNT}}},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{TRAIL_BUCKET}", f"arn:aws:s3:::{TRAIL_BUCKET}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})


@demo_step("logging")
def logging_and_detection(ctx: DemoContext) -> None:
    region = "us-east-1"
    s3 = ctx.client("s3", region)
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    s3.put_public_access_block(Bucket=TRAIL_BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket=TRAIL_BUCKET, Policy=_log_bucket_policy(region))
    trail = ctx.client("cloudtrail", region)
    trail.create_trail(Name=TRAIL, S3BucketName=TRAIL_BUCKET, IsMultiRegionTrail=False,
                       EnableLogFileValidation=False)
    trail.start_logging(Name=TRAIL)

    ctx.client("guardduty", region).create_detector(Enable=True)

    config = ctx.client("config", region)
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/"
                                      "AWSServiceRoleForConfig",
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": TRAIL_BUCKET})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    ctx.notes.append(f"logging: single-region trail {TRAIL} (us-east-1, no validation/KMS/CloudWatch) -> "
                     f"s3://{TRAIL_BUCKET}; GuardDuty and Config in us-east-1 only; Security Hub off")
