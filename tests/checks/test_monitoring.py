"""Rule M chains (trail → log group → filter → alarm → subscribed topic) and their EventBridge equivalents."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from auditor.config import AuditConfig
from auditor.models import Status
from checks.monitoring import ITEMS
from tests.conftest import ACCOUNT, deny, only, scan, statuses
from tests.test_filter_pattern import APPENDIX_E

GROUP = "cloudtrail-logs"
ROOT = APPENDIX_E["monitoring.root-usage"]
EXTRA = {  # source-002 items, in the shape teams write them
    "monitoring.iam-user-created": '{ ($.eventSource = "iam.amazonaws.com") && (($.eventName = "CreateUser") || '
                                   '($.eventName = "CreateLoginProfile") || ($.eventName = "CreateAccessKey")) }',
    "monitoring.kms-decrypt-spike": '{ ($.eventSource = "kms.amazonaws.com") && ($.eventName = "Decrypt") }',
    "monitoring.console-login-any": '{ $.eventName = "ConsoleLogin" }',
}
ALL_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def _trail(name="org-trail", multi=True, group: str | None = GROUP, logging=True, selectors=None,
           group_arn: str | None = None) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=f"{name}-bucket")
    ct = boto3.client("cloudtrail", region_name="us-east-1")
    cw = {"CloudWatchLogsLogGroupArn": group_arn or f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:*",
          "CloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/trail-to-logs"} if group or group_arn else {}
    ct.create_trail(Name=name, S3BucketName=f"{name}-bucket", IsMultiRegionTrail=multi, **cw)
    ct.put_event_selectors(TrailName=name, EventSelectors=selectors or [
        {"ReadWriteType": "All", "IncludeManagementEvents": True}])
    if logging:
        ct.start_logging(Name=name)


def _topic(name="alerts", subscribed=True, region="us-east-1") -> str:
    sns = boto3.client("sns", region_name=region)
    arn = sns.create_topic(Name=name)["TopicArn"]
    if subscribed:
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="security@example.com")
    return arn


def _alert(name, pattern, topic: str | None, enabled=True, threshold=1.0, alarm=True) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    if not logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=GROUP)
    logs.put_metric_filter(logGroupName=GROUP, filterName=name, filterPattern=pattern,
                           metricTransformations=[{"metricName": name, "metricNamespace": "CIS", "metricValue": "1"}])
    if alarm:
        boto3.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
            AlarmName=f"{name}-alarm", MetricName=name, Namespace="CIS", Statistic="Sum", Period=300,
            EvaluationPeriods=1, Threshold=threshold, ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic] if topic else [], ActionsEnabled=enabled)


def _rule(name, pattern: dict, target: str, region="us-east-1", state="ENABLED") -> None:
    ev = boto3.client("events", region_name=region)
    ev.put_rule(Name=name, EventPattern=json.dumps(pattern), State=state)
    ev.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": target}])


RULE_M = ("monitoring.unauthorized-api-calls", "monitoring.console-signin-without-mfa", "monitoring.root-usage",
          "monitoring.iam-policy-changes", "monitoring.cloudtrail-config-changes", "monitoring.console-auth-failures",
          "monitoring.cmk-disable-or-deletion", "monitoring.s3-bucket-policy-changes", "monitoring.config-changes",
          "monitoring.security-group-changes", "monitoring.nacl-changes", "monitoring.network-gateway-changes",
          "monitoring.route-table-changes", "monitoring.vpc-changes", "monitoring.organizations-changes",
          "monitoring.iam-user-created", "monitoring.kms-decrypt-spike", "monitoring.console-login-any")


def _all_alerts(multi=True) -> None:
    _trail(multi=multi)
    topic = _topic()
    for check_id, pattern in {**APPENDIX_E, **EXTRA}.items():
        _alert(check_id.split(".")[1], pattern, topic, threshold=10 if "spike" in check_id else 1)


def test_every_rule_m_item_passes_with_its_reference_pattern(session):
    assert set(RULE_M) == set(ITEMS)
    _all_alerts()
    result = scan(session, list(RULE_M), regions=["us-east-1", "eu-west-1"])
    assert {f.check_id: f.status for f in result.findings} == {c: Status.PASS for c in RULE_M}
    [f] = only(result, "monitoring.root-usage")
    assert f.region == "global" and "org-trail → cloudtrail-logs → root-usage" in f.message


def test_every_rule_m_item_fails_without_a_trail_and_errors_when_alarms_unreadable(session):
    _all_alerts(multi=False)
    result = scan(session, list(RULE_M))
    assert {f.check_id: f.status for f in result.findings} == {c: Status.FAIL for c in RULE_M}
    assert all("trail org-trail is single-region" in f.message for f in result.findings)
    deny(session, "cloudwatch.DescribeAlarms")
    result = scan(session, list(RULE_M))
    assert {f.check_id: f.status for f in result.findings} == {c: Status.ERROR for c in RULE_M}


@pytest.mark.parametrize(("build", "why"), [
    (lambda: None, "no trail exists"),
    (lambda: _trail(multi=False), "trail org-trail is single-region"),
    (lambda: _trail(group=None), "does not deliver to CloudWatch Logs"),
    (lambda: _trail(logging=False), "is not logging"),
    (lambda: _trail(selectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]),
     "does not record all management events"),
    (lambda: (_trail(), _alert("Narrow", '{ $.userIdentity.type = "Root" && $.eventName = "ConsoleLogin" }',
                               _topic())), "catch only some of these events"),
    (lambda: (_trail(), _alert("Other", '{ $.eventName = "CreateTrail" }', _topic())), "catch none of these"),
    (lambda: (_trail(), _alert("RootUsage", ROOT, None, alarm=False)), "metric filter RootUsage (CIS/RootUsage) "
                                                                       "has no alarm"),
    (lambda: (_trail(), _alert("RootUsage", ROOT, _topic(), enabled=False)), "RootUsage-alarm has actions disabled"),
    (lambda: (_trail(), _alert("RootUsage", ROOT, _topic(subscribed=False))), "no SNS action with a confirmed"),
    (lambda: (_trail(multi=False), _alert("RootUsage", ROOT, _topic())),
     "metric filter RootUsage on log group cloudtrail-logs (us-east-1) would catch these events"),
])
def test_fail_names_where_the_chain_breaks(session, build, why):
    build()
    [f] = only(scan(session, ["monitoring.root-usage"]), "monitoring.root-usage")
    assert f.status is Status.FAIL and why in f.message, f.message
    assert f.evidence["not_alerted"]


def test_error_when_filters_unreadable(session):
    _trail()
    _alert("RootUsage", ROOT, _topic())
    deny(session, "logs.DescribeMetricFilters")
    assert statuses(scan(session, ["monitoring.root-usage"]), "monitoring.root-usage") == [Status.ERROR]


@pytest.mark.parametrize(("arn", "why"), [
    (f"arn:aws:logs:us-east-1:999999999999:log-group:{GROUP}:*", "is in account 999999999999"),
    (f"arn:aws:logs:ap-south-1:{ACCOUNT}:log-group:{GROUP}:*", "is in unscanned region ap-south-1"),
])
def test_error_when_the_log_group_cannot_be_seen(session, arn, why):
    _trail(group_arn=arn)
    [f] = only(scan(session, ["monitoring.root-usage"]), "monitoring.root-usage")
    assert f.status is Status.ERROR and why in f.message


def test_trail_excluding_kms_events_cannot_alert_on_kms(session):
    _trail(selectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True,
                       "ExcludeManagementEventSources": ["kms.amazonaws.com"]}])
    _alert("Kms", APPENDIX_E["monitoring.cmk-disable-or-deletion"], _topic())
    [f] = only(scan(session, ["monitoring.cmk-disable-or-deletion"]), "monitoring.cmk-disable-or-deletion")
    assert f.status is Status.FAIL


def test_decrypt_spike_needs_a_rate_or_anomaly_alarm(session):
    _trail()
    topic = _topic()
    _alert("Decrypt", EXTRA["monitoring.kms-decrypt-spike"], topic)
    [f] = only(scan(session, ["monitoring.kms-decrypt-spike"]), "monitoring.kms-decrypt-spike")
    assert f.status is Status.FAIL and "fixed threshold of 1.0" in f.message
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
        AlarmName="decrypt-anomaly", EvaluationPeriods=1, ComparisonOperator="GreaterThanUpperThreshold",
        ThresholdMetricId="band", AlarmActions=[topic], Metrics=[
            {"Id": "m", "MetricStat": {"Metric": {"Namespace": "CIS", "MetricName": "Decrypt"}, "Period": 300,
                                       "Stat": "Sum"}, "ReturnData": True},
            {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m, 2)"}])
    assert statuses(scan(session, ["monitoring.kms-decrypt-spike"]), "monitoring.kms-decrypt-spike") == [Status.PASS]


IAM_RULE = {"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {"eventName": ["CreateUser", "CreateLoginProfile", "CreateAccessKey"]}}
SG_NAMES = ["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup", "ModifySecurityGroupRules"]


def test_eventbridge_rule_counts_for_global_events_in_us_east_1(session):
    _trail(group=None, multi=False)  # EventBridge needs a logging trail, not CloudWatch Logs
    _rule("iam-users", IAM_RULE, _topic())
    result = scan(session, ["monitoring.iam-user-created"], regions=["us-east-1", "eu-west-1"])
    [f] = only(result, "monitoring.iam-user-created")
    assert f.status is Status.PASS and "EventBridge rule iam-users (us-east-1)" in f.message


def test_eventbridge_regional_events_need_a_rule_in_every_region(session):
    _trail(group=None)
    sg = {"source": ["aws.ec2"], "detail": {"eventName": SG_NAMES}}
    _rule("sg", sg, f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:notify")
    regions = ["us-east-1", "eu-west-1"]
    assert statuses(scan(session, ["monitoring.security-group-changes"], regions=regions),
                    "monitoring.security-group-changes") == [Status.FAIL]
    _rule("sg", sg, f"arn:aws:sqs:eu-west-1:{ACCOUNT}:alerts", region="eu-west-1")
    assert statuses(scan(session, ["monitoring.security-group-changes"], regions=regions),
                    "monitoring.security-group-changes") == [Status.PASS]


def test_eventbridge_sees_denied_describe_calls_only_with_all_events_state(session):
    _trail(group=None)
    pattern = {"detail": {"errorCode": [{"suffix": "UnauthorizedOperation"}, {"prefix": "AccessDenied"}]}}
    _rule("denied", pattern, _topic())
    assert statuses(scan(session, ["monitoring.unauthorized-api-calls"]),
                    "monitoring.unauthorized-api-calls") == [Status.FAIL]
    _rule("denied", pattern, _topic(), state=ALL_EVENTS)
    assert statuses(scan(session, ["monitoring.unauthorized-api-calls"]),
                    "monitoring.unauthorized-api-calls") == [Status.PASS]


def test_eventbridge_breaks_are_named(session):
    _rule("iam-users", IAM_RULE, _topic(subscribed=False))
    [f] = only(scan(session, ["monitoring.iam-user-created"]), "monitoring.iam-user-created")
    assert f.status is Status.FAIL and "gets no CloudTrail events" in f.message
    _trail(group=None)
    [f] = only(scan(session, ["monitoring.iam-user-created"]), "monitoring.iam-user-created")
    assert f.status is Status.FAIL and "iam-users (us-east-1) has no delivering target" in f.message
    deny(session, "events.ListTargetsByRule")
    result = scan(session, ["monitoring.iam-user-created"])
    assert set(statuses(result, "monitoring.iam-user-created")) == {Status.ERROR}


def test_console_login_any_via_sign_in_events_but_decrypt_spike_never_via_eventbridge(session):
    _trail(group=None)
    topic = _topic()
    _rule("logins", {"detail-type": ["AWS Console Sign In via CloudTrail"]}, topic)
    _rule("decrypt", {"source": ["aws.kms"], "detail": {"eventName": ["Decrypt"]}}, topic)
    result = scan(session, ["monitoring.console-login-any", "monitoring.kms-decrypt-spike"])
    assert statuses(result, "monitoring.console-login-any") == [Status.PASS]
    assert statuses(result, "monitoring.kms-decrypt-spike") == [Status.FAIL]


def test_alert_topic_subscribed_per_alarm_and_topic(session):
    _alert("AppErrors", '{ $.level = "ERROR" }', None)  # not a security alarm
    assert statuses(scan(session, ["monitoring.alert-topic-subscribed"]),
                    "monitoring.alert-topic-subscribed") == [Status.FAIL]  # no security alarm: alerts reach nobody
    _alert("RootUsage", ROOT, _topic())
    _alert("Unauthorized", APPENDIX_E["monitoring.unauthorized-api-calls"], _topic(), enabled=False)
    _alert("Trail", APPENDIX_E["monitoring.cloudtrail-config-changes"], None)
    _rule("gd", {"source": ["aws.guardduty"]}, _topic("gd-alerts", subscribed=False))
    by_id = {f.resource.id: (f.status, f.message) for f in
             only(scan(session, ["monitoring.alert-topic-subscribed"]), "monitoring.alert-topic-subscribed")}
    assert by_id == {
        "RootUsage-alarm": (Status.PASS, "security alarm RootUsage-alarm notifies alerts"),
        "Unauthorized-alarm": (Status.FAIL, "security alarm Unauthorized-alarm has actions disabled"),
        "Trail-alarm": (Status.FAIL, "security alarm Trail-alarm has no SNS action"),
        "alerts": (Status.PASS, "alert topic alerts has confirmed subscribers (email)"),
        "gd-alerts": (Status.FAIL, "alert topic gd-alerts has no confirmed subscriber")}
    deny(session, "sns.ListSubscriptions")
    assert set(statuses(scan(session, ["monitoring.alert-topic-subscribed"]),
                        "monitoring.alert-topic-subscribed")) == {Status.ERROR}


def test_guardduty_findings_routed(session):
    gd_check = ["monitoring.guardduty-findings-routed"]
    assert statuses(scan(session, gd_check), gd_check[0]) == [Status.NOT_APPLICABLE]
    det = boto3.client("guardduty", region_name="us-east-1").create_detector(Enable=True)["DetectorId"]
    [f] = only(scan(session, gd_check), gd_check[0])
    assert (f.status, f.resource.id) == (Status.FAIL, det) and "no enabled EventBridge rule" in f.message
    _rule("ssh-only", {"source": ["aws.guardduty"], "detail": {"type": ["UnauthorizedAccess:EC2/SSHBruteForce"]}},
          _topic())
    [f] = only(scan(session, gd_check), gd_check[0])
    assert f.status is Status.FAIL and "ssh-only forward only some" in f.message
    _rule("high", {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
                   "detail": {"severity": [{"numeric": [">=", 7]}]}}, _topic())
    assert statuses(scan(session, gd_check), gd_check[0]) == [Status.PASS]
    deny(session, "events.ListRules")
    assert statuses(scan(session, gd_check), gd_check[0]) == [Status.ERROR]


def _lookup_events(session, *who: dict) -> None:
    """cloudtrail.LookupEvents is not in moto: answer it with a recorded response shape."""
    events = [{"EventId": f"e{i}", "EventName": "RunInstances", "ReadOnly": "false", "EventSource": "ec2.amazonaws.com",
               "EventTime": datetime(2024, 5, 1, 12, i, tzinfo=timezone.utc), "Username": "x",
               "CloudTrailEvent": json.dumps({"userIdentity": w, "eventName": "RunInstances"})}
              for i, w in enumerate(who)]

    def reply(**_):
        return AWSResponse("https://cloudtrail.us-east-1.amazonaws.com/", 200, {}, None), {"Events": events}
    session.boto._session.register("before-call.cloudtrail.LookupEvents", reply)
    session._clients.clear()


def test_changes_outside_pipeline(session):
    class PipelineConfig(AuditConfig):  # until AuditConfig carries pipeline_principals
        pipeline_principals: list[str] = [f"arn:aws:iam::{ACCOUNT}:role/deployer"]

    check_id = "monitoring.changes-outside-pipeline"
    assert set(statuses(scan(session, [check_id]), check_id)) == {Status.ERROR}  # moto lacks LookupEvents
    alice = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}
    ci = {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-42",
          "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/deployer"}}}
    aws = {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"}
    _lookup_events(session, alice, ci, alice, aws)
    cfg = PipelineConfig(workers=4)
    [f] = only(scan(session, [check_id], cfg=cfg), check_id)
    assert f.status is Status.FAIL and f.evidence["writers_outside_pipeline"] == [
        {"principal": alice["arn"], "region": "us-east-1", "events": 2, "examples": ["RunInstances"]}]
    _trail(group=None)
    _rule("writes", {"detail-type": ["AWS API Call via CloudTrail"],
                     "detail": {"userIdentity": {"sessionContext": {"sessionIssuer": {
                         "arn": [{"anything-but": f"arn:aws:iam::{ACCOUNT}:role/deployer"}]}}}}}, _topic())
    [f] = only(scan(session, [check_id], cfg=cfg), check_id)
    assert f.status is Status.FAIL  # excludes everyone without a session issuer: IAM users, root
    _rule("writes", {"detail-type": ["AWS API Call via CloudTrail"]}, _topic())
    [f] = only(scan(session, [check_id], cfg=cfg), check_id)
    assert f.status is Status.PASS and "warning: 1 principal(s) outside the pipeline" in f.message
    assert f.evidence["warning"] and f.evidence["pipeline_principals"] == cfg.pipeline_principals
