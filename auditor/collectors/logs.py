"""CloudWatch Logs: log groups (with their KMS key) and every metric filter of a region in one listing."""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

LOG_GROUPS = "logs.log-groups"
METRIC_FILTERS = "logs.metric-filters"


class LogGroup(Resource):
    resource_type: ClassVar[str] = "AWS::Logs::LogGroup"
    name: str
    kms_key_id: str | None = None  # None: not encrypted with a KMS key (the listing always carries the field)
    retention_days: int | None = None  # None: never expire
    log_group_class: str = ""
    stored_bytes: int | None = None


class MetricTarget(Frozen):
    namespace: str
    name: str


class MetricFilter(Frozen):
    region: str
    name: str
    log_group: str  # log group name
    pattern: str
    metrics: list[MetricTarget] = []


class LogsSection(Section):
    log_groups: list[LogGroup] = []
    metric_filters: list[MetricFilter] = []


def _group_arn(ctx: CollectContext, g: dict[str, Any]) -> str:
    arn = g.get("logGroupArn") or str(g.get("arn") or "").removesuffix(":*")
    return arn or ctx.arn("logs", f"log-group:{g['logGroupName']}", ctx.region)


@collector("logs", section=LogsSection, regional=True, datasets={
    LOG_GROUPS: ("logs:DescribeLogGroups",),
    METRIC_FILTERS: ("logs:DescribeMetricFilters",),
})
def collect_logs(ctx: CollectContext) -> LogsSection:
    logs = ctx.client()
    groups = ctx.paginate(LOG_GROUPS, logs, "describe_log_groups", "logGroups")
    # One account-wide listing per region rather than one call per log group.
    filters = ctx.paginate(METRIC_FILTERS, logs, "describe_metric_filters", "metricFilters")
    return LogsSection(
        log_groups=sorted((LogGroup(arn=_group_arn(ctx, g), id=g["logGroupName"], name=g["logGroupName"],
                                    region=ctx.region, account_id=ctx.account_id,
                                    kms_key_id=g.get("kmsKeyId") or None, retention_days=g.get("retentionInDays"),
                                    log_group_class=g.get("logGroupClass", ""), stored_bytes=g.get("storedBytes"))
                           for g in groups or []), key=lambda g: g.name),
        metric_filters=sorted((MetricFilter(region=ctx.region, name=f.get("filterName", ""),
                                            log_group=f.get("logGroupName", ""), pattern=f.get("filterPattern", ""),
                                            metrics=[MetricTarget(namespace=m.get("metricNamespace", ""),
                                                                  name=m.get("metricName", ""))
                                                     for m in f.get("metricTransformations") or []])
                               for f in filters or []), key=lambda f: (f.log_group, f.name)))
