from __future__ import annotations

from datetime import datetime, timezone

import boto3
from moto.config.models import config_backends

from auditor.collectors import Section
from auditor.collectors.awsconfig import ConfigRecorder, ConfigServiceSection
from auditor.collectors.securityhub import EnabledStandard, Hub, SecurityHubSection
from auditor.config import AuditConfig
from auditor.demo import DemoContext
from auditor.demo.detection import detection_services
from auditor.demo.logging import logging_and_detection
from auditor.inventory import Inventory
from auditor.models import Identity, Status
from auditor.runner import evaluate, select_checks
from tests.conftest import ACCOUNT, REGIONS, deny, only, recorded, scan

CONFIG = "config.recorder-all-regions"
GUARDDUTY = "guardduty.enabled-all-regions"
HUB = "securityhub.enabled"
RULES = "config.rules-deployed"
MACIE = "macie.enabled"
INSPECTOR = "inspector.enabled"
STALE = "guardduty.no-stale-high-findings"
CENTRAL = "guardduty.centrally-managed"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/config"


def _recorder(region: str = "us-east-1", *, all_supported: bool = True, global_types: bool = True,
              start: bool = True) -> None:
    cfg = boto3.client("config", region_name=region)
    group = {"allSupported": all_supported, "includeGlobalResourceTypes": global_types}
    if not all_supported:
        group["resourceTypes"] = ["AWS::EC2::Instance"]
    cfg.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": ROLE,
                                                          "recordingGroup": group})
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=f"config-{region}")
    cfg.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": f"config-{region}"})
    if start:
        cfg.start_configuration_recorder(ConfigurationRecorderName="default")


def _rule(region: str, name: str = "s3-versioning") -> None:
    boto3.client("config", region_name=region).put_config_rule(ConfigRule={
        "ConfigRuleName": name, "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"}})


def _by_region(result, check_id: str) -> dict[str, Status]:
    return {f.region: f.status for f in only(result, check_id)}


def _inventory(regions: list[str], datasets: list[str], **sections: Section) -> Inventory:
    return Inventory(identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/a"),
                     regions=regions, collected_at=datetime.now(timezone.utc), datasets=datasets, sections=sections)


# config.recorder-all-regions

def test_config_pass_in_one_region_fail_in_the_other(session):
    _recorder("us-east-1")
    result = scan(session, [CONFIG], regions=REGIONS)
    assert _by_region(result, CONFIG) == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL, "global": Status.PASS}
    east = only(result, CONFIG, region="us-east-1")[0]
    assert east.resource.id == "recorder/us-east-1" and east.evidence["warnings"] == []
    assert "no configuration recorder in eu-west-1" in only(result, CONFIG, region="eu-west-1")[0].message


def test_config_fail_when_not_recording_or_not_all_supported(session):
    _recorder("us-east-1", start=False)
    _recorder("eu-west-1", all_supported=False, global_types=False)
    result = scan(session, [CONFIG], regions=REGIONS)
    assert _by_region(result, CONFIG) == {"us-east-1": Status.FAIL, "eu-west-1": Status.FAIL, "global": Status.FAIL}
    assert "is not recording" in only(result, CONFIG, region="us-east-1")[0].message
    assert "all supported resource types" in only(result, CONFIG, region="eu-west-1")[0].message


def test_config_global_types_missing_everywhere_fails_the_account_finding(session):
    _recorder("us-east-1", global_types=False)
    result = scan(session, [CONFIG])
    assert _by_region(result, CONFIG) == {"us-east-1": Status.PASS, "global": Status.FAIL}


def test_config_no_delivery_channel_warns_but_passes(session):
    _recorder("us-east-1")
    # AWS and moto refuse to drop the last channel of a running recorder: remove it behind moto's back.
    config_backends[ACCOUNT]["us-east-1"].delivery_channels.clear()
    [f] = only(scan(session, [CONFIG]), CONFIG, region="us-east-1")
    assert f.status is Status.PASS and "no delivery channel" in f.message
    assert f.evidence["delivery_channels"] == []


def test_config_unreadable_delivery_channels_do_not_block_the_verdict(session):
    _recorder("us-east-1")
    _rule("us-east-1")  # with a rule present, conformance packs (moto lacks them) are never asked for
    deny(session, "config.DescribeDeliveryChannels")
    result = scan(session, [CONFIG])
    [f] = only(result, CONFIG, region="us-east-1")
    assert f.status is Status.PASS and f.evidence["delivery_channels"].startswith("unknown")
    assert [g.iam_action for g in result.gaps] == ["config:DescribeDeliveryChannels"]


def test_config_error_when_recorders_unreadable(session):
    _recorder("us-east-1")
    deny(session, "config.DescribeConfigurationRecorderStatus")
    result = scan(session, [CONFIG], regions=REGIONS)
    # eu-west-1 has no recorder, so its status is never asked for and its FAIL stands
    # (the account-level global-types finding is withheld: the runner reports the us-east-1 gap instead)
    assert _by_region(result, CONFIG) == {"us-east-1": Status.ERROR, "eu-west-1": Status.FAIL}
    assert all(f.gap for f in only(result, CONFIG, status=Status.ERROR))
    deny(session, "config.DescribeConfigurationRecorders")
    assert set(_by_region(scan(session, [CONFIG], regions=REGIONS), CONFIG).values()) == {Status.ERROR}


def test_config_last_status_failure_fails():  # moto never reports FAILURE
    rec = ConfigRecorder(arn="arn:aws:config:us-east-1:1:configuration-recorder/default", id="default",
                         name="default", region="us-east-1", all_supported=True, include_global_resource_types=True,
                         recording=True, last_status="FAILURE", last_error_code="NoSuchBucket")
    inv = _inventory(["us-east-1"], ["config.recorders", "config.delivery_channels"],
                     configservice=ConfigServiceSection(recorders=[rec]))
    found = {f.region: f for f in evaluate(inv, select_checks([CONFIG]), AuditConfig())}
    assert found["us-east-1"].status is Status.FAIL and "NoSuchBucket" in found["us-east-1"].message
    assert found["global"].status is Status.FAIL


# config.rules-deployed

def test_rules_pass_where_deployed_error_where_packs_unreadable(session):
    _rule("us-east-1")
    result = scan(session, [RULES], regions=REGIONS)
    assert _by_region(result, RULES) == {"us-east-1": Status.PASS, "eu-west-1": Status.ERROR}
    east, west = only(result, RULES, region="us-east-1")[0], only(result, RULES, region="eu-west-1")[0]
    assert east.evidence["rules"] == ["s3-versioning"] and east.resource.id == "rules/us-east-1"
    # moto lacks DescribeConformancePacks: with no rule, the verdict cannot be reached (never a FAIL)
    assert west.gap and west.gap.iam_action == "config:DescribeConformancePacks"


def test_rules_fail_without_rules_or_packs_and_packs_pass(session):
    recorded(session, "config.DescribeConformancePacks", {"ConformancePackDetails": []}, region="us-east-1")
    recorded(session, "config.DescribeConformancePacks", {"ConformancePackDetails": [{
        "ConformancePackName": "cis", "ConformancePackArn": f"arn:aws:config:eu-west-1:{ACCOUNT}:conformance-pack/cis",
        "ConformancePackId": "cp-1"}]}, region="eu-west-1")
    result = scan(session, [RULES], regions=REGIONS)
    assert _by_region(result, RULES) == {"us-east-1": Status.FAIL, "eu-west-1": Status.PASS}
    assert "no Config rule or conformance pack" in only(result, RULES, region="us-east-1")[0].message
    assert only(result, RULES, region="eu-west-1")[0].evidence["conformance_packs"] == ["cis"]


def test_rules_error_when_unreadable(session):
    _rule("us-east-1")
    deny(session, "config.DescribeConfigRules")
    [f] = only(scan(session, [RULES]), RULES)
    assert f.status is Status.ERROR and f.gap.iam_action == "config:DescribeConfigRules"


# guardduty.enabled-all-regions

def test_guardduty_pass_and_fail_per_region(session):
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    suspended = boto3.client("guardduty", region_name="eu-west-1").create_detector(Enable=False)["DetectorId"]
    result = scan(session, [GUARDDUTY], regions=REGIONS)
    assert _by_region(result, GUARDDUTY) == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    assert suspended in only(result, GUARDDUTY, region="eu-west-1")[0].message


def test_guardduty_fail_without_detector(session):
    [f] = only(scan(session, [GUARDDUTY]), GUARDDUTY)
    assert f.status is Status.FAIL and f.resource.id == "detector/us-east-1" and "no detector" in f.message


def test_guardduty_error_when_unreadable(session):
    boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)
    deny(session, "guardduty.GetDetector")
    [f] = only(scan(session, [GUARDDUTY]), GUARDDUTY)
    assert f.status is Status.ERROR and f.gap and f.gap.iam_action == "guardduty:GetDetector"
    deny(session, "guardduty.ListDetectors")
    assert {f.status for f in only(scan(session, [GUARDDUTY], regions=REGIONS), GUARDDUTY)} == {Status.ERROR}


# securityhub.enabled

def test_securityhub_enabled_passes_with_standards_unknown(session):
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub(EnableDefaultStandards=True)
    result = scan(session, [HUB], regions=REGIONS)
    assert _by_region(result, HUB) == {"us-east-1": Status.PASS, "eu-west-1": Status.FAIL}
    east = only(result, HUB, region="us-east-1")[0]
    assert "standards: unknown" in east.message and east.evidence["standards"].startswith("unknown")
    # moto lacks GetEnabledStandards: recorded as a gap of the optional dataset, never a FAIL/ERROR verdict
    assert {(g.dataset, g.error_code) for g in result.gaps} == {("securityhub.standards", "Unsupported")}


def test_securityhub_not_subscribed_is_fail_not_gap(session):
    result = scan(session, [HUB])
    [f] = only(result, HUB)
    assert f.status is Status.FAIL and not result.gaps


def test_securityhub_error_when_hub_unreadable(session):
    boto3.client("securityhub", region_name="us-east-1").enable_security_hub()
    deny(session, "securityhub.DescribeHub")
    [f] = only(scan(session, [HUB]), HUB)
    assert f.status is Status.ERROR and f.gap.iam_action == "securityhub:DescribeHub"


def test_securityhub_standards_ready_or_warned():
    hub = Hub(arn=f"arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default", id="default", region="us-east-1")
    std = EnabledStandard(arn=f"arn:aws:securityhub:us-east-1:{ACCOUNT}:subscription/cis/1.4.0", id="cis",
                          region="us-east-1", standards_arn="arn:aws:securityhub:::standards/cis", status="READY")
    specs = select_checks([HUB])
    datasets = ["securityhub.hub", "securityhub.standards"]
    [ready] = evaluate(_inventory(["us-east-1"], datasets, securityhub=SecurityHubSection(hubs=[hub], standards=[std])),
                       specs, AuditConfig())
    [none] = evaluate(_inventory(["us-east-1"], datasets, securityhub=SecurityHubSection(hubs=[hub])),
                      specs, AuditConfig())
    assert ready.status is none.status is Status.PASS
    assert ready.evidence["warnings"] == [] and ready.evidence["standards"] == {"cis": "READY"}
    assert none.evidence["warnings"] == ["no enabled standard is READY"] and "warning" in none.message


# the demo account's logging step

def test_demo_logging_step(session):
    logging_and_detection(DemoContext())
    expected = {
        ("cloudtrail.multi-region-logging", "global"): Status.FAIL,
        ("cloudtrail.log-file-validation", "us-east-1"): Status.FAIL,
        ("cloudtrail.kms-encryption", "us-east-1"): Status.FAIL,
        ("cloudtrail.cloudwatch-logs", "global"): Status.NOT_APPLICABLE,
        ("cloudtrail.org-trail", "global"): Status.NOT_APPLICABLE,  # no organization in this step
        ("cloudtrail.s3-data-events-write", "global"): Status.FAIL,
        ("cloudtrail.s3-data-events-read", "global"): Status.FAIL,
        (CONFIG, "us-east-1"): Status.PASS, (CONFIG, "eu-west-1"): Status.FAIL, (CONFIG, "global"): Status.PASS,
        (GUARDDUTY, "us-east-1"): Status.PASS, (GUARDDUTY, "eu-west-1"): Status.FAIL,
        (HUB, "us-east-1"): Status.FAIL, (HUB, "eu-west-1"): Status.FAIL,
    }
    ids = sorted({check_id for check_id, _ in expected})
    result = scan(session, ids, regions=REGIONS)
    assert {(f.check_id, f.region): f.status for f in result.findings} == expected


# the demo account's detection step (moto lacks conformance packs, GuardDuty findings)

def test_demo_detection_step(session):
    ctx = DemoContext()
    logging_and_detection(ctx)
    detection_services(ctx)
    result = scan(session, [RULES, MACIE, INSPECTOR, STALE, CENTRAL], regions=REGIONS)
    got = {(f.check_id, f.region): f.status for f in result.findings}
    assert got == {
        (RULES, "us-east-1"): Status.PASS, (RULES, "eu-west-1"): Status.ERROR,  # moto lacks conformance packs
        (MACIE, "us-east-1"): Status.FAIL,
        (INSPECTOR, "us-east-1"): Status.PASS, (INSPECTOR, "eu-west-1"): Status.FAIL,
        (STALE, "us-east-1"): Status.ERROR,  # moto lacks ListFindings
        (CENTRAL, "global"): Status.NOT_APPLICABLE,
    }
