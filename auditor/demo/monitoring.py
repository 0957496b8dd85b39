"""Demo monitoring: someone started on alerts before fixing CloudTrail.

In us-east-1: a log group with the CIS root-usage metric filter, an alarm and an e-mailed SNS topic (the chain
is complete from the filter on, but no multi-region trail delivers to the group, so monitoring.root-usage still
fails and says so); an unauthorized-API-call alarm whose actions were switched off; EventBridge rules that route
GuardDuty findings and IAM user creation to the topic; one KMS-encrypted and one plain application log group.
"""
from __future__ import annotations

import json

from auditor.demo import DemoContext, demo_step

REGION = "us-east-1"
ALERT_GROUP = "security/cloudtrail-alerts"
ROOT_PATTERN = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
                '&& $.eventType != "AwsServiceEvent" }')
UNAUTHORIZED_PATTERN = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'


def _filter_and_alarm(ctx: DemoContext, name: str, pattern: str, topic: str, enabled: bool) -> None:
    ctx.client("logs", REGION).put_metric_filter(
        logGroupName=ALERT_GROUP, filterName=name, filterPattern=pattern,
        metricTransformations=[{"metricName": name, "metricNamespace": "CISBenchmark", "metricValue": "1"}])
    ctx.client("cloudwatch", REGION).put_metric_alarm(
        AlarmName=f"{name}-alarm", MetricName=name, Namespace="CISBenchmark", Statistic="Sum", Period=300,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic], ActionsEnabled=enabled)


def _rule(ctx: DemoContext, name: str, pattern: dict, topic: str) -> None:
    events = ctx.client("events", REGION)
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=name, Targets=[{"Id": "alerts", "Arn": topic}])


@demo_step("monitoring")
def monitoring(ctx: DemoContext) -> None:
    logs = ctx.client("logs", REGION)
    logs.create_log_group(logGroupName=ALERT_GROUP)
    key = ctx.client("kms", REGION).create_key(Description="application logs")["KeyMetadata"]["Arn"]
    logs.create_log_group(logGroupName="app/payments", kmsKeyId=key)
    logs.create_log_group(logGroupName="app/web")

    sns = ctx.client("sns", REGION)
    topic = sns.create_topic(Name="security-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="security@example.com")
    _filter_and_alarm(ctx, "RootAccountUsage", ROOT_PATTERN, topic, enabled=True)
    _filter_and_alarm(ctx, "UnauthorizedAPICalls", UNAUTHORIZED_PATTERN, topic, enabled=False)  # "too noisy"

    _rule(ctx, "guardduty-findings", {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}, topic)
    _rule(ctx, "iam-user-created", {"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"], "detail": {
        "eventSource": ["iam.amazonaws.com"], "eventName": ["CreateUser", "CreateLoginProfile", "CreateAccessKey"]}},
        topic)
    ctx.notes.append(f"monitoring: {ALERT_GROUP} has root-usage filter -> alarm -> SNS security-alerts (e-mail), "
                     "but no multi-region trail feeds it; unauthorized-API alarm has actions disabled; EventBridge "
                     "routes GuardDuty findings and IAM user creation; app/payments is KMS-encrypted, app/web is not")
