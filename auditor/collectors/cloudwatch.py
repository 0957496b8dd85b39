"""CloudWatch metric alarms of a region, from one paginated DescribeAlarms listing."""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.collectors.logs import MetricTarget
from auditor.models import Resource

ALARMS = "cloudwatch.alarms"


class Alarm(Resource):
    resource_type: ClassVar[str] = "AWS::CloudWatch::Alarm"
    name: str
    namespace: str = ""
    metric_name: str = ""
    metrics: list[MetricTarget] = []  # metrics a metric-math alarm reads
    actions_enabled: bool = False
    alarm_actions: list[str] = []
    threshold: float | None = None
    comparison: str = ""
    threshold_metric_id: str = ""  # set for anomaly-detection alarms
    statistic: str = ""
    period: int | None = None
    evaluation_periods: int | None = None
    state: str = ""

    def watches(self, metric: MetricTarget) -> bool:
        own = MetricTarget(namespace=self.namespace, name=self.metric_name)
        return metric == own or metric in self.metrics

    @property
    def sns_actions(self) -> list[str]:
        return [a for a in self.alarm_actions if a.split(":")[2:3] == ["sns"]]


class CloudWatchSection(Section):
    alarms: list[Alarm] = []


def _math_metrics(a: dict[str, Any]) -> list[MetricTarget]:
    out = []
    for q in a.get("Metrics") or []:
        m = (q.get("MetricStat") or {}).get("Metric") or {}
        if m.get("MetricName"):
            out.append(MetricTarget(namespace=m.get("Namespace", ""), name=m["MetricName"]))
    return out


@collector("cloudwatch", section=CloudWatchSection, regional=True, datasets={
    ALARMS: ("cloudwatch:DescribeAlarms",),
})
def collect_cloudwatch(ctx: CollectContext) -> CloudWatchSection:
    listed = ctx.paginate(ALARMS, ctx.client(), "describe_alarms", "MetricAlarms")
    return CloudWatchSection(alarms=sorted((Alarm(
        arn=a["AlarmArn"], id=a["AlarmName"], name=a["AlarmName"], region=ctx.region, account_id=ctx.account_id,
        namespace=a.get("Namespace", ""), metric_name=a.get("MetricName", ""), metrics=_math_metrics(a),
        actions_enabled=bool(a.get("ActionsEnabled")), alarm_actions=sorted(a.get("AlarmActions") or []),
        threshold=a.get("Threshold"), comparison=a.get("ComparisonOperator", ""),
        threshold_metric_id=a.get("ThresholdMetricId", ""), statistic=a.get("Statistic", ""),
        period=a.get("Period"), evaluation_periods=a.get("EvaluationPeriods"), state=a.get("StateValue", ""))
        for a in listed or []), key=lambda a: a.arn))
