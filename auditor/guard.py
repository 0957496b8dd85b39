"""What counts as a read, and the IAM action behind each API operation.

The session's botocore hook consults `is_read` before a request is built, so a write can never leave
the process. Reads are the usual prefixes, plus a short allowlist, minus data-plane reads that could
reveal a secret or mint credentials (an auditor has no business reading object bodies or secret values).
"""
from __future__ import annotations

READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "Search", "BatchGet", "Head")

# Not a read by name, but it changes no configuration.
ALLOW = frozenset({
    ("iam", "GenerateCredentialReport"),
    ("iam", "GenerateServiceLastAccessedDetails"),
    ("sts", "AssumeRole"),  # --role-arn and organization scans
    ("sts", "AssumeRoleWithWebIdentity"),  # GitHub Actions OIDC through the default chain
})

# Reads by name that return customer data, secrets or credentials.
DENY = frozenset({
    ("s3", "GetObject"), ("s3", "GetObjectTorrent"), ("s3", "GetObjectAttributes"),
    ("secretsmanager", "GetSecretValue"), ("secretsmanager", "BatchGetSecretValue"),
    ("ssm", "GetParameter"), ("ssm", "GetParameters"), ("ssm", "GetParametersByPath"),
    ("ssm", "GetParameterHistory"),
    ("dynamodb", "GetItem"), ("dynamodb", "BatchGetItem"),
    ("logs", "GetLogEvents"), ("logs", "GetQueryResults"), ("logs", "GetLogRecord"),
    ("ec2", "GetPasswordData"), ("ec2", "GetConsoleOutput"), ("ec2", "GetConsoleScreenshot"),
    ("lambda", "GetFunction"),  # carries a pre-signed URL to the code
    ("ecr", "GetAuthorizationToken"), ("ecr", "GetDownloadUrlForLayer"), ("ecr", "BatchGetImage"),
    ("sts", "GetFederationToken"), ("sts", "GetSessionToken"),
    ("kinesis", "GetRecords"), ("kinesis", "GetShardIterator"),
    ("cognito-identity", "GetId"), ("cognito-identity", "GetCredentialsForIdentity"),
    ("cognito-identity", "GetOpenIdToken"),
    ("glacier", "GetJobOutput"), ("athena", "GetQueryResults"),
    ("codecommit", "GetFile"), ("codecommit", "GetBlob"),
})


def is_read(service: str, operation: str) -> bool:
    if (service, operation) in DENY:
        return False
    return (service, operation) in ALLOW or operation.startswith(READ_PREFIXES)


# boto3 client name -> IAM service prefix, where they differ.
_IAM_PREFIX = {
    "monitoring": "cloudwatch",  # SigV4 signing names, as seen on the wire
    "tagging": "tag",
    "elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing", "sso-admin": "sso",
    "accessanalyzer": "access-analyzer", "s3control": "s3", "apigatewayv2": "apigateway",
    "opensearch": "es", "stepfunctions": "states", "efs": "elasticfilesystem",
    "resourcegroupstaggingapi": "tag",
}

# Operations whose IAM action is named differently from the API.
_ACTION = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "GetBucketNotificationConfiguration"): "s3:GetBucketNotification",
    ("budgets", "DescribeBudgets"): "budgets:ViewBudget",
    ("budgets", "DescribeNotificationsForBudget"): "budgets:ViewBudget",
    ("budgets", "DescribeSubscribersForNotification"): "budgets:ViewBudget",
    ("apigateway", "GetRestApis"): "apigateway:GET",
    ("apigateway", "GetStages"): "apigateway:GET",
    ("apigateway", "GetResources"): "apigateway:GET",
    ("apigateway", "GetUsagePlans"): "apigateway:GET",
    ("apigateway", "GetAccount"): "apigateway:GET",
    ("apigateway", "GetDomainNames"): "apigateway:GET",
    ("apigatewayv2", "GetApis"): "apigateway:GET",
    ("apigatewayv2", "GetStages"): "apigateway:GET",
    ("apigatewayv2", "GetRoutes"): "apigateway:GET",
    ("inspector2", "BatchGetAccountStatus"): "inspector2:BatchGetAccountStatus",
}


def iam_action(service: str, operation: str) -> str:
    return _ACTION.get((service, operation)) or f"{_IAM_PREFIX.get(service, service)}:{operation}"


class ReadOnlyViolation(RuntimeError):
    """Raised in-process, before a request is built, for any operation that is not a read."""
