"""GuardDuty findings and administration, Macie, Inspector and SSM patch compliance.

Where moto lacks the API (GuardDuty findings, GuardDuty members, SSM compliance) the operation is answered with a
recorded response at the botocore layer (`recorded`, shared with the other detection/cost/support tests).
"""
from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest

from auditor.config import AuditConfig
from auditor.models import Status
from tests.conftest import ACCOUNT, REGIONS, client_error, deny, only, recorded, scan

STALE = "guardduty.no-stale-high-findings"
CENTRAL = "guardduty.centrally-managed"
MACIE = "macie.enabled"
INSPECTOR = "inspector.enabled"
PATCH = "ssm.patch-compliance"


def _by_region(result, check_id: str) -> dict[str, Status]:
    return {f.region: f.status for f in only(result, check_id)}


def _org() -> None:
    boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")


# guardduty.no-stale-high-findings

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _gd_finding(fid: str, created: str, severity: float = 8.0) -> dict:
    return {"AccountId": ACCOUNT, "Arn": f"arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/d/finding/{fid}",
            "CreatedAt": created, "UpdatedAt": "2026-02-28T10:00:00.000Z", "Id": fid, "Region": "us-east-1",
            "Partition": "aws", "SchemaVersion": "2.0", "Severity": severity, "Title": "EC2 talks to a miner",
            "Type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "Resource": {"ResourceType": "Instance"},
            "Service": {"Archived": False, "Count": 12}}


def test_stale_high_finding_fails_recent_one_passes(session):
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    asked = recorded(session, "guardduty.ListFindings", {"FindingIds": ["old", "new"]})
    recorded(session, "guardduty.GetFindings", lambda body: {"Findings": [
        _gd_finding(i, "2026-01-10T00:00:00.000Z" if i == "old" else "2026-02-27T00:00:00.000Z")
        for i in body["findingIds"]]})
    result = scan(session, [STALE], regions=["us-east-1"], cfg=AuditConfig(workers=4, now=NOW))
    [f] = only(result, STALE)
    assert f.status is Status.FAIL and f.resource.type == "AWS::GuardDuty::Finding" and f.resource.id == "old"
    assert "unarchived for 50 days" in f.message and f.evidence["first_seen"].startswith("2026-01-10")
    criterion = asked[0]["findingCriteria"]["criterion"]
    assert criterion["severity"] == {"greaterThanOrEqual": 7} and criterion["service.archived"] == {"equals": ["false"]}
    relaxed = scan(session, [STALE], regions=["us-east-1"], cfg=AuditConfig(workers=4, now=NOW, finding_grace_days=60))
    [ok] = only(relaxed, STALE)
    assert ok.status is Status.PASS and ok.evidence["recent_high_findings"] == 2


def test_stale_findings_error_when_unreadable_and_on_moto(session):
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    [f] = only(scan(session, [STALE]), STALE)  # moto lacks ListFindings
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    deny(session, "guardduty.ListFindings")
    [f] = only(scan(session, [STALE]), STALE)
    assert f.status is Status.ERROR and f.gap.iam_action == "guardduty:ListFindings"


def test_stale_findings_not_applicable_without_detector(session):
    assert [f.status for f in only(scan(session, [STALE]), STALE)] == [Status.NOT_APPLICABLE]


# guardduty.centrally-managed

def test_central_pass_as_member_of_an_administrator(session):
    _org()
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    recorded(session, "guardduty.GetAdministratorAccount", {"Administrator": {
        "AccountId": "222233334444", "InvitationId": "inv", "RelationshipStatus": "Enabled"}})
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.PASS and "222233334444" in f.message


def test_central_pass_as_administrator_with_members_and_fail_alone(session):
    _org()
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    boto3.client("guardduty", region_name="eu-west-1").create_detector(Enable=True)
    recorded(session, "guardduty.ListMembers", {"Members": [{"AccountId": "555566667777", "RelationshipStatus":
                                                             "Enabled"}]}, region="us-east-1")
    recorded(session, "guardduty.ListMembers", {"Members": []}, region="eu-west-1")
    result = scan(session, [CENTRAL], regions=REGIONS)
    assert _by_region(result, CENTRAL) == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    west = only(result, CENTRAL, region="eu-west-1")[0]
    assert "no administrator account and no members" in west.message and west.evidence["org_admins"] == []


def test_central_error_on_moto_and_when_denied(session):
    _org()
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    [f] = only(scan(session, [CENTRAL]), CENTRAL)  # moto lacks ListMembers
    assert f.status is Status.ERROR and f.gap.iam_action == "guardduty:ListMembers"
    deny(session, "guardduty.GetAdministratorAccount")
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.ERROR and f.gap.iam_action == "guardduty:GetAdministratorAccount"


def test_central_not_applicable_outside_an_org(session):
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.NOT_APPLICABLE and "not in an AWS Organization" in f.message


# macie.enabled

def _buckets() -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="east-data")
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="west-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def test_macie_pass_and_fail_per_region_with_buckets(session):
    _buckets()
    boto3.client("macie2", region_name="eu-west-1").disable_macie()  # moto starts with Macie ENABLED
    result = scan(session, [MACIE], regions=REGIONS)
    assert _by_region(result, MACIE) == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    west = only(result, MACIE, region="eu-west-1")[0]
    assert "not enabled in eu-west-1" in west.message and west.evidence["sample_buckets"] == ["west-data"]


def test_macie_not_enabled_answer_of_aws_is_a_fail_other_denials_are_errors(session):
    _buckets()
    recorded(session, "macie2.GetMacieSession",
             client_error("AccessDeniedException", "Macie is not enabled.", 403), region="us-east-1")
    result = scan(session, [MACIE], regions=REGIONS)
    assert _by_region(result, MACIE) == {"us-east-1": Status.FAIL, "eu-west-1": Status.PASS} and not result.gaps


def test_macie_error_when_denied(session):
    _buckets()
    deny(session, "macie2.GetMacieSession")  # a real refusal: "not authorized to perform", not "not enabled"
    result = scan(session, [MACIE], regions=REGIONS)
    assert set(_by_region(result, MACIE).values()) == {Status.ERROR}
    assert {g.iam_action for g in result.gaps} == {"macie2:GetMacieSession"}


def test_macie_only_regions_with_buckets_and_error_when_buckets_unlistable(session):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="east-data")
    assert _by_region(scan(session, [MACIE], regions=REGIONS), MACIE) == {"us-east-1": Status.PASS}
    deny(session, "s3.ListBuckets")
    assert set(_by_region(scan(session, [MACIE], regions=REGIONS), MACIE).values()) == {Status.ERROR}


def test_macie_not_applicable_without_buckets(session):
    assert [f.status for f in only(scan(session, [MACIE]), MACIE)] == [Status.NOT_APPLICABLE]


# inspector.enabled

def _inspector(region: str, *types: str) -> None:
    boto3.client("inspector2", region_name=region).enable(accountIds=[ACCOUNT], resourceTypes=list(types))


def test_inspector_pass_where_enabled_fail_elsewhere(session):
    _inspector("us-east-1", "EC2")
    result = scan(session, [INSPECTOR], regions=REGIONS)
    assert _by_region(result, INSPECTOR) == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    east = only(result, INSPECTOR, region="us-east-1")[0]
    assert "no such resources" in east.message and east.evidence["workloads"] == {"ecr": False, "lambda": False}


def test_inspector_fails_when_existing_repositories_are_not_scanned(session):
    _inspector("us-east-1", "EC2")
    boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="app")
    [f] = only(scan(session, [INSPECTOR]), INSPECTOR)
    assert f.status is Status.FAIL and "does not scan ecr although such resources exist" in f.message
    _inspector("us-east-1", "ECR")
    assert only(scan(session, [INSPECTOR]), INSPECTOR)[0].status is Status.PASS


@pytest.mark.parametrize("denied, action", [("inspector2.BatchGetAccountStatus", "inspector2:BatchGetAccountStatus"),
                                            ("ecr.DescribeRepositories", "ecr:DescribeRepositories")])
def test_inspector_error_when_unreadable(session, denied, action):
    _inspector("us-east-1", "EC2")
    deny(session, denied)
    [f] = only(scan(session, [INSPECTOR]), INSPECTOR)
    assert f.status is Status.ERROR and f.gap.iam_action == action


def test_inspector_failed_account_is_error(session):
    recorded(session, "inspector2.BatchGetAccountStatus", {"accounts": [], "failedAccounts": [{
        "accountId": ACCOUNT, "errorCode": "INTERNAL_ERROR", "errorMessage": "try later"}]})
    [f] = only(scan(session, [INSPECTOR]), INSPECTOR)
    assert f.status is Status.ERROR and "INTERNAL_ERROR" in f.message


# ssm.patch-compliance

def _summary(iid: str, status: str, missing: int = 0) -> dict:
    return {"ComplianceType": "Patch", "ResourceType": "ManagedInstance", "ResourceId": iid, "Status": status,
            "OverallSeverity": "CRITICAL" if missing else "UNSPECIFIED",
            "ExecutionSummary": {"ExecutionTime": datetime(2026, 2, 1, tzinfo=timezone.utc)},
            "CompliantSummary": {"CompliantCount": 40},
            "NonCompliantSummary": {"NonCompliantCount": missing, "SeveritySummary": {"CriticalCount": missing}}}


def test_patch_compliance_per_instance(session):
    asked = recorded(session, "ssm.ListResourceComplianceSummaries", {"ResourceComplianceSummaryItems": [
        _summary("i-0aaa", "COMPLIANT"), _summary("mi-0bbb", "NON_COMPLIANT", missing=3),
        {"ComplianceType": "Patch", "ResourceType": "Document", "ResourceId": "doc", "Status": "COMPLIANT"}]})
    recorded(session, "ssm.DescribeInstancePatchStates", lambda body: {"InstancePatchStates": [
        {"InstanceId": i, "PatchGroup": "", "BaselineId": "pb-1", "Operation": "Scan",
         "OperationStartTime": datetime(2026, 2, 1), "OperationEndTime": datetime(2026, 2, 1),
         "MissingCount": 3 if i.startswith("mi-") else 0, "FailedCount": 0} for i in body["InstanceIds"]]})
    result = scan(session, [PATCH])
    found = {f.resource.id: f for f in only(result, PATCH)}
    assert {i: f.status for i, f in found.items()} == {"i-0aaa": Status.PASS, "mi-0bbb": Status.FAIL}
    assert found["i-0aaa"].resource.type == "AWS::EC2::Instance"
    assert found["i-0aaa"].resource.arn == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0aaa"
    assert found["mi-0bbb"].resource.type == "AWS::SSM::ManagedInstance"
    assert "3 missing" in found["mi-0bbb"].message and found["mi-0bbb"].evidence["non_compliant_by_severity"] == \
        {"critical": 3}
    assert asked[0]["Filters"] == [{"Key": "ComplianceType", "Values": ["Patch"], "Type": "EQUAL"}]


def test_patch_compliance_verdict_survives_unreadable_states(session):
    recorded(session, "ssm.ListResourceComplianceSummaries", {"ResourceComplianceSummaryItems": [
        _summary("i-0aaa", "NON_COMPLIANT", missing=2)]})
    [f] = only(scan(session, [PATCH]), PATCH)  # moto lacks DescribeInstancePatchStates
    assert f.status is Status.FAIL and f.evidence["patch_counts"] == "unknown"


def test_patch_compliance_error_on_moto_and_when_denied(session):
    [f] = only(scan(session, [PATCH]), PATCH)  # moto lacks ListResourceComplianceSummaries
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    deny(session, "ssm.ListResourceComplianceSummaries")
    [f] = only(scan(session, [PATCH]), PATCH)
    assert f.status is Status.ERROR and f.gap.iam_action == "ssm:ListResourceComplianceSummaries"


def test_patch_compliance_not_applicable_without_managed_instances(session):
    recorded(session, "ssm.ListResourceComplianceSummaries", {"ResourceComplianceSummaryItems": []})
    assert [f.status for f in only(scan(session, [PATCH]), PATCH)] == [Status.NOT_APPLICABLE]
