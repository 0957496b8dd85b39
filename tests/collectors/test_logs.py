"""Collectors behind the monitoring checks: logs, cloudwatch, sns, events (and recent write activity)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import boto3
from botocore.awsrequest import AWSResponse

from auditor.collectors.events import RULES, TARGETS, WRITE_EVENTS
from auditor.collectors.logs import METRIC_FILTERS, MetricTarget
from auditor.collectors.sns import SUBSCRIPTIONS, TOPIC_ATTRIBUTES
from auditor.config import AuditConfig
from auditor.runner import collect, select_checks
from tests.conftest import ACCOUNT, deny

REGIONS = ["us-east-1", "eu-west-1"]


def _count_calls(session) -> Counter:
    sent: Counter = Counter()

    def record(model, context, **_):
        sent[(context.get("client_region"), model.service_model.service_name, model.name)] += 1
    session.boto._session.register("before-call", record)
    session._clients.clear()
    return sent


def _inventory(session, checks=("monitoring.alert-topic-subscribed", "logs.log-group-kms")):
    return collect(session, select_checks(list(checks)), REGIONS, AuditConfig(workers=2))


def test_logs_cloudwatch_sns_records_and_one_listing_per_region(session):
    logs = boto3.client("logs", region_name="us-east-1")
    for group in ("b-group", "a-group"):
        logs.create_log_group(logGroupName=group)
        logs.put_metric_filter(logGroupName=group, filterName=f"{group}-f", filterPattern='{ $.x = "y" }',
                               metricTransformations=[{"metricName": "M", "metricNamespace": "NS", "metricValue": "1"}])
    sns = boto3.client("sns", region_name="us-east-1")
    topics = [sns.create_topic(Name=n, Attributes={"KmsMasterKeyId": "alias/aws/sns"} if n == "enc" else {})[
        "TopicArn"] for n in ("enc", "plain")]
    sns.subscribe(TopicArn=topics[0], Protocol="https", Endpoint="https://global.sns-api.chatbot.amazonaws.com/x?t=1")
    sns.subscribe(TopicArn=topics[1], Protocol="email", Endpoint="ops@example.com")
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_alarm(
        AlarmName="math", EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=5,
        AlarmActions=[topics[0], "arn:aws:automate:us-east-1:ec2:stop"], Metrics=[
            {"Id": "m", "MetricStat": {"Metric": {"Namespace": "NS", "MetricName": "M"}, "Period": 60, "Stat": "Sum"},
             "ReturnData": True}])
    sent = _count_calls(session)
    inv = _inventory(session)
    assert [(f.log_group, f.name) for f in inv.logs.metric_filters] == [("a-group", "a-group-f"),
                                                                        ("b-group", "b-group-f")]
    assert inv.logs.metric_filters[0].metrics == [MetricTarget(namespace="NS", name="M")]
    assert [g.name for g in inv.logs.log_groups] == ["a-group", "b-group"]
    [alarm] = inv.cloudwatch.alarms
    assert alarm.watches(MetricTarget(namespace="NS", name="M")) and alarm.sns_actions == [topics[0]]
    enc, plain = inv.sns.topics
    assert (enc.attributes_read, enc.kms_master_key_id, plain.kms_master_key_id) == (True, "alias/aws/sns", None)
    assert {(s.topic_arn, s.kind, s.confirmed) for s in inv.sns.subscriptions} == {
        (topics[0], "chatbot", True), (topics[1], "email", True)}
    assert "example.com" not in inv.model_dump_json()  # endpoints are never kept
    for region in REGIONS:
        assert sent[(region, "logs", "DescribeMetricFilters")] == 1
        assert sent[(region, "sns", "ListSubscriptions")] == 1
    assert sent[("us-east-1", "sns", "GetTopicAttributes")] == 2
    assert not [k for k in sent if k[2] == "ListSubscriptionsByTopic"]


def test_sns_attributes_gap_is_per_topic(session):
    boto3.client("sns", region_name="us-east-1").create_topic(Name="t")
    deny(session, "sns.GetTopicAttributes")
    inv = _inventory(session)
    [topic] = inv.sns.topics
    assert not topic.attributes_read and topic.kms_master_key_id is None
    [gap] = [g for g in inv.gaps if g.dataset == TOPIC_ATTRIBUTES]
    assert gap.resource_id == topic.arn
    assert not [g for g in inv.gaps if g.dataset in (SUBSCRIPTIONS, METRIC_FILTERS)]


def test_event_rules_default_bus_with_targets(session):
    ev = boto3.client("events", region_name="eu-west-1")
    ev.put_rule(Name="gd", EventPattern=json.dumps({"source": ["aws.guardduty"]}), State="ENABLED")
    ev.put_targets(Rule="gd", Targets=[{"Id": "b", "Arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q"},
                                       {"Id": "a", "Arn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:t"}])
    ev.put_rule(Name="nightly", ScheduleExpression="rate(1 day)", State="DISABLED")
    inv = _inventory(session, ["monitoring.guardduty-findings-routed"])
    gd, nightly = inv.events.rules
    assert (gd.region, gd.enabled, json.loads(gd.event_pattern or "")) == ("eu-west-1", True,
                                                                           {"source": ["aws.guardduty"]})
    assert [t.service for t in gd.targets or []] == ["sns", "sqs"]
    assert (nightly.enabled, nightly.schedule, nightly.event_pattern) == (False, "rate(1 day)", None)
    deny(session, "events.ListTargetsByRule")
    inv = _inventory(session, ["monitoring.guardduty-findings-routed"])
    assert all(r.targets is None for r in inv.events.rules)
    assert {g.resource_id for g in inv.gaps if g.dataset == TARGETS} == {r.arn for r in inv.events.rules}
    assert not [g for g in inv.gaps if g.dataset == RULES]


def test_write_activity_is_summarised_per_principal(session):
    user = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}
    role = {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/run-7",
            "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/ci"}}}
    names = ["CreateUser", "RunInstances", "RunInstances", "PutBucketPolicy"]
    events = [{"EventName": n, "EventTime": datetime(2024, 5, 1, i, tzinfo=timezone.utc),
               "CloudTrailEvent": json.dumps({"userIdentity": user, "requestParameters": {"secret": "s3cr3t"}})}
              for i, n in enumerate(names)]
    events += [{"EventName": "UpdateStack", "CloudTrailEvent": json.dumps({"userIdentity": role})},
               {"EventName": "AssumeRole", "CloudTrailEvent": json.dumps({"userIdentity": {"type": "AWSService"}})},
               {"EventName": "Odd", "Username": "legacy", "CloudTrailEvent": "not json"}]
    asked = []

    def reply(params, **_):
        asked.append(json.loads(params["body"]))
        return AWSResponse("https://cloudtrail/", 200, {}, None), {"Events": events}
    session.boto._session.register("before-call.cloudtrail.LookupEvents", reply)
    session._clients.clear()
    inv = _inventory(session, ["monitoring.changes-outside-pipeline"])
    assert not [g for g in inv.gaps if g.dataset == WRITE_EVENTS]
    assert asked[0]["LookupAttributes"] == [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}]
    alice = [a for a in inv.cloudtrail_activity.actors if a.region == "us-east-1" and a.principal == user["arn"]]
    assert [(a.events, a.event_names, a.last_event.hour) for a in alice] == [
        (4, ["RunInstances", "CreateUser", "PutBucketPolicy"], 3)]
    assert {(a.principal, a.issuer) for a in inv.cloudtrail_activity.actors if a.region == "eu-west-1"} == {
        (user["arn"], ""), (role["arn"], f"arn:aws:iam::{ACCOUNT}:role/ci"), ("legacy", "")}
    assert "s3cr3t" not in inv.model_dump_json()
