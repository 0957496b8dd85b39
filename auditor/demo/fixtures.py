"""Answers for the APIs moto does not implement, so the demo shows verdicts rather than 'unsupported'.

Each answer is what a real first-month startup account would return. botocore skips the HTTP request when a
before-call handler returns (http_response, parsed), so everything else (pagination, the guard, our parsing)
runs as in a real scan. Root-user state, which no API can set, is patched into moto the same way.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

Answer = Callable[[str], Any]  # region -> parsed response (or raises ClientError)
NOW = datetime.now(timezone.utc)


def _error(code: str, op: str) -> Any:
    def raise_it(_: str) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": "demo"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                          op)
    return raise_it


def _account() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return DEFAULT_ACCOUNT_ID


def _credential_report(_: str) -> dict[str, Any]:
    """moto's report plus the <root_account> row moto never writes: MFA on, but used for a console login."""
    from moto.iam.models import iam_backends

    csv = iam_backends[_account()]["global"].get_credential_report()
    header, _, rest = csv.partition("\n")
    cols = header.split(",")
    row = dict.fromkeys(cols, "N/A")
    row.update({c: "false" for c in cols if c.endswith("_active")})
    row.update({"user": "<root_account>", "arn": f"arn:aws:iam::{_account()}:root",
                "user_creation_time": (NOW - timedelta(days=40)).isoformat(), "password_enabled": "not_supported",
                "password_last_used": (NOW - timedelta(days=2)).isoformat(), "password_last_changed": "not_supported",
                "password_next_rotation": "not_supported", "mfa_active": "true"})
    content = f"{header}\n{','.join(row[c] for c in cols)}\n{rest}"
    return {"Content": content.encode(), "ReportFormat": "text/csv", "GeneratedTime": NOW}


def _analyzers(region: str) -> dict[str, Any]:
    if region != "us-east-1":
        return {"analyzers": []}
    return {"analyzers": [{"arn": f"arn:aws:access-analyzer:{region}:{_account()}:analyzer/default",
                           "name": "default", "type": "ACCOUNT", "status": "ACTIVE", "createdAt": NOW}]}


def _analyzer_findings(region: str) -> dict[str, Any]:
    return {"findings": [{
        "id": "3f1c0e1e-demo", "resourceType": "AWS::S3::Bucket", "resource": "arn:aws:s3:::acme-app-assets",
        "resourceOwnerAccount": _account(), "status": "ACTIVE", "isPublic": True, "principal": {"AWS": "*"},
        "action": ["s3:GetObject"], "condition": {}, "createdAt": NOW - timedelta(days=9),
        "analyzedAt": NOW - timedelta(days=1), "updatedAt": NOW - timedelta(days=1)}]}


def _managed_instances(region: str) -> dict[str, Any]:
    """The first instance in the region is an online SSM managed node; the others are not managed."""
    found = boto3.client("ec2", region_name=region).describe_instances()["Reservations"]
    ids = sorted(i["InstanceId"] for r in found for i in r["Instances"])
    return {"InstanceInformationList": [{"InstanceId": ids[0], "PingStatus": "Online", "ResourceType": "EC2Instance",
                                         "PlatformType": "Linux", "AgentVersion": "3.3.0.0"}] if ids else []}


def _patch_compliance(region: str) -> dict[str, Any]:
    found = boto3.client("ec2", region_name=region).describe_instances()["Reservations"]
    ids = sorted(i["InstanceId"] for r in found for i in r["Instances"])
    return {"ResourceComplianceSummaryItems": [{
        "ComplianceType": "Patch", "ResourceType": "ManagedInstance", "ResourceId": ids[0], "Status": "NON_COMPLIANT",
        "OverallSeverity": "CRITICAL", "CompliantSummary": {"CompliantCount": 40},
        "NonCompliantSummary": {"NonCompliantCount": 3}}] if ids else []}


ANSWERS: dict[tuple[str, str], Answer] = {
    ("iam", "GetCredentialReport"): _credential_report,
    ("iam", "ListOrganizationsFeatures"): lambda _: {
        "OrganizationId": "o-demo", "EnabledFeatures": ["RootCredentialsManagement"]},
    ("accessanalyzer", "ListAnalyzers"): _analyzers,
    ("accessanalyzer", "ListFindings"): _analyzer_findings,
    ("account", "GetContactInformation"): lambda _: {"ContactInformation": {
        "FullName": "Acme Founders", "CompanyName": "Acme", "AddressLine1": "1 Main Street", "City": "Berlin",
        "PostalCode": "10115", "CountryCode": "DE", "PhoneNumber": "+49 30 0000000"}},
    ("budgets", "DescribeSubscribersForNotification"): lambda _: {
        "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "founders@acme.example"}]},
    ("ce", "GetAnomalyMonitors"): lambda _: {"AnomalyMonitors": []},
    ("ce", "GetAnomalySubscriptions"): lambda _: {"AnomalySubscriptions": []},
    ("cloudtrail", "LookupEvents"): lambda _: {"Events": []},
    ("config", "DescribeConformancePacks"): lambda _: {"ConformancePackDetails": []},
    ("ec2", "GetAllowedImagesSettings"): lambda _: {"State": "disabled"},
    ("ec2", "GetEbsDefaultKmsKeyId"): lambda r: {"KmsKeyId": f"arn:aws:kms:{r}:{_account()}:alias/aws/ebs"},
    ("ec2", "GetInstanceMetadataDefaults"): lambda _: {"AccountLevel": {}},
    ("ec2", "GetSnapshotBlockPublicAccessState"): lambda _: {"State": "unblocked"},
    ("guardduty", "ListFindings"): lambda _: {"FindingIds": []},
    ("guardduty", "ListMembers"): lambda _: {"Members": []},
    ("organizations", "DescribeResourcePolicy"): _error("ResourcePolicyNotFoundException", "DescribeResourcePolicy"),
    ("ssm", "DescribeInstanceInformation"): _managed_instances,
    ("ssm", "ListResourceComplianceSummaries"): _patch_compliance,
    ("ssm", "DescribeInstancePatchStates"): lambda _: {"InstancePatchStates": []},
    # A first-month startup has Basic support: the Support API refuses, which the checks read as data.
    ("support", "DescribeSeverityLevels"): _error("SubscriptionRequiredException", "DescribeSeverityLevels"),
    **{("support", op): _error("SubscriptionRequiredException", op)
       for op in ("DescribeTrustedAdvisorChecks", "DescribeTrustedAdvisorCheckSummaries")},
}


def answer(model: Any, params: dict[str, Any], **_: Any) -> Any:
    """botocore before-call handler: a canned answer for an operation moto lacks, else None (moto answers)."""
    fn = ANSWERS.get((model.service_model.service_name, model.name))
    if fn is None:
        return None
    url = params.get("url", "")
    match = re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.", url)
    return AWSResponse(url, 200, {}, None), fn(match.group(1) if match else "us-east-1")


def patch_root_state() -> None:
    """Root MFA is on in the demo account (moto fixes it at off; no API can set it)."""
    from moto.iam.models import iam_backends

    iam_backends[_account()]["global"].account_summary._account_mfa_enabled = 1
