from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from auditor.collectors.cloudtrail import CloudTrailSection, EventSelector, Trail
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Identity, Status
from auditor.runner import evaluate, select_checks
from tests.conftest import ACCOUNT, REGIONS, deny, only, scan, statuses

MULTI = "cloudtrail.multi-region-logging"
VALIDATION = "cloudtrail.log-file-validation"
KMS = "cloudtrail.kms-encryption"
CLOUDWATCH = "cloudtrail.cloudwatch-logs"
ALL_MGMT = [{"ReadWriteType": "All", "IncludeManagementEvents": True}]


def _trail(name: str, region: str = "us-east-1", *, multi: bool = True, logging: bool = True,
           selectors: list | None = ALL_MGMT, advanced: list | None = None, **extra) -> str:
    bucket = f"trail-logs-{name}"
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    ct = boto3.client("cloudtrail", region_name=region)
    arn = ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi, **extra)["TrailARN"]
    if logging:
        ct.start_logging(Name=name)
    if advanced is not None:
        ct.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    elif selectors is not None:
        ct.put_event_selectors(TrailName=name, EventSelectors=selectors)
    return arn


def _deny_in(session, region: str, operation: str) -> None:
    """AccessDenied for one operation in one region only."""
    def refuse(**_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied (test)"},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, operation)
    session.client("cloudtrail", region).meta.events.register(f"before-call.cloudtrail.{operation}", refuse)


# cloudtrail.multi-region-logging

def test_multi_region_pass_names_the_trail(session):
    arn = _trail("org-wide")
    _trail("local", "eu-west-1", multi=False)
    [f] = only(scan(session, [MULTI], regions=REGIONS), MULTI)
    assert f.status is Status.PASS and f.region == "global" and f.resource.type == "AWS::::Account"
    assert f.evidence["satisfied_by"] == [arn] and "org-wide" in f.message
    assert len(f.evidence["trails"]) == 2  # the shadow copy in eu-west-1 is not counted twice


def test_multi_region_pass_with_advanced_selectors(session):
    _trail("adv", advanced=[{"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}])
    assert statuses(scan(session, [MULTI]), MULTI) == [Status.PASS]


@pytest.mark.parametrize("kw, why", [
    ({"multi": False}, "single-region"),
    ({"logging": False}, "is not logging"),
    ({"selectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}, "management events"),
    ({"advanced": [{"Name": "ro", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                     {"Field": "readOnly", "Equals": ["true"]}]}]},
     "management events"),
    ({"selectors": None}, "management events"),  # moto returns no selectors at all for a fresh trail
])
def test_multi_region_fail_says_why(session, kw, why):
    _trail("weak", **kw)
    [f] = only(scan(session, [MULTI]), MULTI)
    assert f.status is Status.FAIL and why in f.message and "weak" in f.message


def test_multi_region_fail_without_any_trail(session):
    [f] = only(scan(session, [MULTI], regions=REGIONS), MULTI)
    assert f.status is Status.FAIL and "no trail exists" in f.message


def test_multi_region_error_when_trails_unlistable(session):
    _trail("org-wide")
    deny(session, "cloudtrail.DescribeTrails")
    assert set(statuses(scan(session, [MULTI], regions=REGIONS), MULTI)) == {Status.ERROR}


def test_multi_region_error_when_listing_fails_in_one_region(session):
    _trail("org-wide")
    _deny_in(session, "eu-west-1", "DescribeTrails")
    result = scan(session, [MULTI], regions=REGIONS)
    assert {f.status for f in only(result, MULTI)} == {Status.ERROR}


def test_multi_region_error_not_fail_when_status_unreadable(session):
    _trail("org-wide")
    deny(session, "cloudtrail.GetTrailStatus")
    findings = only(scan(session, [MULTI]), MULTI)
    assert {f.status for f in findings} == {Status.ERROR}
    account = next(f for f in findings if f.resource.type == "AWS::::Account")
    assert account.gap and account.gap.iam_action == "cloudtrail:GetTrailStatus"


def test_multi_region_error_when_home_region_not_scanned(session):
    _trail("org-wide", "us-east-1")
    [f] = only(scan(session, [MULTI], regions=["eu-west-1"]), MULTI)
    assert f.status is Status.ERROR and "us-east-1 was not scanned" in f.message


def test_multi_region_pass_survives_another_trails_unreadable_selectors(session):
    _trail("good")
    _deny_in(session, "eu-west-1", "GetEventSelectors")
    other = _trail("other", "eu-west-1", multi=False)
    findings = only(scan(session, [MULTI], regions=REGIONS), MULTI)
    assert {f.resource.arn: f.status for f in findings} == {
        f"arn:aws:iam::{ACCOUNT}:root": Status.PASS, other: Status.ERROR}


# cloudtrail.log-file-validation and cloudtrail.kms-encryption

def test_validation_and_kms_per_trail_in_home_region(session):
    key = boto3.client("kms", region_name="eu-west-1").create_key()["KeyMetadata"]["Arn"]
    good = _trail("good", "eu-west-1", EnableLogFileValidation=True, KmsKeyId=key)
    bad = _trail("bad", "us-east-1", multi=False)
    result = scan(session, [VALIDATION, KMS], regions=REGIONS)
    for check_id in (VALIDATION, KMS):
        found = {f.resource.arn: (f.status, f.region) for f in only(result, check_id)}
        assert found == {good: (Status.PASS, "eu-west-1"), bad: (Status.FAIL, "us-east-1")}
    assert only(result, KMS, status=Status.PASS)[0].evidence["kms_key_id"] == key


def test_trail_homed_outside_scanned_regions_is_reported_in_its_home_region(session):
    arn = _trail("far", "eu-west-1")
    [f] = only(scan(session, [VALIDATION], regions=["us-east-1"]), VALIDATION)
    assert (f.status, f.region, f.resource.arn) == (Status.FAIL, "eu-west-1", arn)


def test_validation_and_kms_error_when_unlistable(session):
    _trail("t-one")
    deny(session, "cloudtrail.DescribeTrails")
    result = scan(session, [VALIDATION, KMS])
    assert set(statuses(result, VALIDATION)) == set(statuses(result, KMS)) == {Status.ERROR}


def test_validation_only_errs_in_the_unreadable_region(session):
    _trail("east", "us-east-1", multi=False)
    _trail("west", "eu-west-1", multi=False)
    _deny_in(session, "eu-west-1", "DescribeTrails")
    found = {f.region: f.status for f in only(scan(session, [VALIDATION], regions=REGIONS), VALIDATION)}
    assert found == {"us-east-1": Status.FAIL, "eu-west-1": Status.ERROR}


def test_validation_not_affected_by_unreadable_status(session):
    _trail("t-one", EnableLogFileValidation=True)
    deny(session, "cloudtrail.GetTrailStatus", "cloudtrail.GetEventSelectors")
    assert statuses(scan(session, [VALIDATION]), VALIDATION) == [Status.PASS]


def test_no_trails_is_not_applicable(session):
    result = scan(session, [VALIDATION, KMS, CLOUDWATCH])
    assert {f.status for f in result.findings} == {Status.NOT_APPLICABLE}


# cloudtrail.cloudwatch-logs

def _log_group(region: str = "us-east-1") -> str:
    logs = boto3.client("logs", region_name=region)
    logs.create_log_group(logGroupName="cloudtrail")
    return logs.describe_log_groups()["logGroups"][0]["arn"]


def test_cloudwatch_pass_fail_and_single_region_ignored(session):
    good = _trail("good", CloudWatchLogsLogGroupArn=_log_group(),
                  CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ct")
    bad = _trail("bad")
    _trail("local", multi=False)
    found = {f.resource.arn: f for f in only(scan(session, [CLOUDWATCH]), CLOUDWATCH)}
    assert {a: f.status for a, f in found.items()} == {good: Status.PASS, bad: Status.FAIL}
    assert found[good].evidence["warnings"] == ["no CloudWatch Logs delivery reported"]  # moto lacks the time


def test_cloudwatch_error_when_unlistable(session):
    _trail("bad")
    deny(session, "cloudtrail.DescribeTrails")
    assert statuses(scan(session, [CLOUDWATCH]), CLOUDWATCH) == [Status.ERROR]


def test_cloudwatch_status_unreadable_only_loses_the_warning(session):
    _trail("good", CloudWatchLogsLogGroupArn=_log_group(), CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ct")
    deny(session, "cloudtrail.GetTrailStatus")
    [f] = only(scan(session, [CLOUDWATCH]), CLOUDWATCH)
    assert f.status is Status.PASS and f.evidence["latest_delivery"].startswith("unknown")


def _inventory(*trails: Trail) -> Inventory:
    return Inventory(identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/a"),
                     regions=["us-east-1"], collected_at=datetime.now(timezone.utc),
                     datasets=["cloudtrail.trails", "cloudtrail.status", "cloudtrail.selectors"],
                     sections={"cloudtrail": CloudTrailSection(trails=list(trails))})


def test_cloudwatch_stale_delivery_warns_but_passes():
    now = datetime(2026, 1, 10, tzinfo=timezone.utc)
    trail = Trail(arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t", id="t", name="t", region="us-east-1",
                  home_region="us-east-1", multi_region=True, is_logging=True, event_selectors=[EventSelector()],
                  advanced_event_selectors=[], cloudwatch_log_group_arn="arn:aws:logs:us-east-1:1:log-group:ct:*")
    specs = select_checks([CLOUDWATCH])
    fresh = trail.model_copy(update={"latest_cloudwatch_delivery": now - timedelta(hours=2)})
    stale = trail.model_copy(update={"latest_cloudwatch_delivery": now - timedelta(hours=30)})
    [ok] = evaluate(_inventory(fresh), specs, AuditConfig(now=now))
    [old] = evaluate(_inventory(stale), specs, AuditConfig(now=now))
    assert ok.status is old.status is Status.PASS
    assert ok.evidence["warnings"] == [] and "older than 24 h" in old.evidence["warnings"][0]
    assert "warning" in old.message


# cloudtrail.org-trail
ORG_TRAIL = "cloudtrail.org-trail"


@pytest.mark.parametrize("org, kw, status, why", [
    (True, {"IsOrganizationTrail": True}, Status.PASS, f"org (us-east-1, account {ACCOUNT}) is multi-region"),
    (True, {}, Status.FAIL, "no organization trail is visible"),
    (True, {"IsOrganizationTrail": True, "multi": False}, Status.FAIL, "is single-region"),
    (True, {"IsOrganizationTrail": True, "logging": False}, Status.FAIL, "is not logging"),
    (False, {"IsOrganizationTrail": True}, Status.NOT_APPLICABLE, "not in an AWS Organization"),
])
def test_org_trail_verdicts(session, org, kw, status, why):
    if org:
        boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
    _trail("org", **kw)
    [f] = only(scan(session, [ORG_TRAIL], regions=REGIONS), ORG_TRAIL)
    assert f.status is status and why in f.message, f.message


def test_org_trail_error_when_org_or_status_unreadable(session):
    boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
    _trail("org", "eu-west-1", IsOrganizationTrail=True)
    [f] = only(scan(session, [ORG_TRAIL], regions=["us-east-1"]), ORG_TRAIL)
    assert f.status is Status.ERROR and "eu-west-1 was not scanned" in f.message
    deny(session, "cloudtrail.GetTrailStatus")
    findings = only(scan(session, [ORG_TRAIL], regions=REGIONS), ORG_TRAIL)
    assert {f.status for f in findings} == {Status.ERROR}
    assert any("cannot tell whether the organization trail is logging" in f.message for f in findings)
    deny(session, "organizations.DescribeOrganization")
    findings = only(scan(session, [ORG_TRAIL], regions=REGIONS), ORG_TRAIL)
    assert {f.status for f in findings} == {Status.ERROR}
    assert "organizations:DescribeOrganization" in {f.gap.iam_action for f in findings if f.gap}


# cloudtrail.s3-data-events-write / -read
S3_WRITE, S3_READ = "cloudtrail.s3-data-events-write", "cloudtrail.s3-data-events-read"


def _s3_selectors(rw: str, values: list[str] | None = None) -> list:
    return [{"ReadWriteType": rw, "DataResources": [{"Type": "AWS::S3::Object", "Values": values or ["arn:aws:s3"]}]}]


def _data_adv(*extra: dict) -> list:
    return [{"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {"Name": "s3", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                              {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}, *extra]}]


@pytest.mark.parametrize("kw, write, read", [
    ({"selectors": _s3_selectors("All")}, Status.PASS, Status.PASS),
    ({"selectors": _s3_selectors("WriteOnly", ["arn:aws:s3:::"])}, Status.PASS, Status.FAIL),
    ({"selectors": _s3_selectors("ReadOnly")}, Status.FAIL, Status.PASS),
    ({"selectors": _s3_selectors("All", ["arn:aws:s3:::one-bucket/"])}, Status.FAIL, Status.FAIL),
    ({"advanced": _data_adv()}, Status.PASS, Status.PASS),
    ({"advanced": _data_adv({"Field": "readOnly", "Equals": ["false"]})}, Status.PASS, Status.FAIL),
    ({"advanced": _data_adv({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::b/"]})}, Status.FAIL, Status.FAIL),
    ({"selectors": _s3_selectors("All"), "logging": False}, Status.FAIL, Status.FAIL),
    ({"selectors": _s3_selectors("All"), "multi": False}, Status.FAIL, Status.FAIL),
])
def test_s3_data_events(session, kw, write, read):
    _trail("data", **kw)
    result = scan(session, [S3_WRITE, S3_READ])
    assert (statuses(result, S3_WRITE), statuses(result, S3_READ)) == ([write], [read])


def test_s3_data_events_fail_message_and_exclusion_warning(session):
    [none] = only(scan(session, [S3_READ], regions=REGIONS), S3_READ)
    assert none.status is Status.FAIL and "no trail exists" in none.message
    _trail("mgmt-only")
    [f] = only(scan(session, [S3_WRITE]), S3_WRITE)
    assert "mgmt-only does not select write data events for all S3 objects" in f.message
    _trail("data", advanced=_data_adv({"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::trail-logs-data/"]}))
    [ok] = only(scan(session, [S3_WRITE]), S3_WRITE)
    assert ok.status is Status.PASS and "warning" in ok.message
    assert ok.evidence["warnings"] == ["data excludes resources.ARN NotStartsWith arn:aws:s3:::trail-logs-data/"]


def test_s3_data_events_error_when_selectors_unreadable(session):
    _trail("data", selectors=_s3_selectors("All"))
    deny(session, "cloudtrail.GetEventSelectors")
    findings = only(scan(session, [S3_WRITE, S3_READ]), S3_WRITE)
    assert {f.status for f in findings} == {Status.ERROR}
    assert any(f.gap and f.gap.iam_action == "cloudtrail:GetEventSelectors" for f in findings)
