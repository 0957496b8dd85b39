"""Cost guardrails, read once per scan: AWS Budgets (with notifications and their subscribers) and Cost Explorer
anomaly monitors with their subscriptions. Both APIs are global, served from us-east-1 in the aws partition.

Notifications and subscribers are read only for COST budgets, the only kind cost.budget-configured counts.
A list left None on a record means "could not read" (a gap names the budget).
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

BUDGETS = "cost.budgets"
ANOMALY = "cost.anomaly_detection"

_NOT_FOUND = ("NotFoundException",)  # Budgets answers "nothing configured" with NotFoundException
_ENDPOINT_REGION = {"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"}


def _region(partition: str) -> str:
    return _ENDPOINT_REGION.get(partition, "us-east-1")


class Subscriber(Frozen):
    type: str  # EMAIL / SNS
    address: str
    status: str = ""  # anomaly subscriptions only: CONFIRMED / DECLINED


class BudgetNotification(Frozen):
    notification_type: str = ""  # ACTUAL / FORECASTED
    comparison: str = ""
    threshold: float = 0.0
    threshold_type: str = ""
    subscribers: list[Subscriber] | None = None


class Budget(Resource):
    resource_type: ClassVar[str] = "AWS::Budgets::Budget"
    name: str
    budget_type: str = ""
    time_unit: str = ""
    limit: str = ""
    notifications: list[BudgetNotification] | None = None  # None for non-COST budgets and unreadable ones


class AnomalyMonitor(Resource):
    resource_type: ClassVar[str] = "AWS::CE::AnomalyMonitor"
    name: str = ""
    monitor_type: str = ""
    dimension: str = ""


class AnomalySubscription(Resource):
    resource_type: ClassVar[str] = "AWS::CE::AnomalySubscription"
    name: str = ""
    monitor_arns: list[str] = []
    subscribers: list[Subscriber] = []
    frequency: str = ""


class CostSection(Section):
    budgets: list[Budget] = []
    monitors: list[AnomalyMonitor] = []
    subscriptions: list[AnomalySubscription] = []


@collector("cost", service="budgets", section=CostSection, regional=False, datasets={
    BUDGETS: ("budgets:ViewBudget",),  # IAM has one action for every Budgets read
    ANOMALY: ("ce:GetAnomalyMonitors", "ce:GetAnomalySubscriptions"),
})
def collect_cost(ctx: CollectContext) -> CostSection:
    monitors, subscriptions = _anomaly(ctx)
    return CostSection(budgets=_budgets(ctx), monitors=monitors, subscriptions=subscriptions)


def _budgets(ctx: CollectContext) -> list[Budget]:
    client = ctx.client("budgets", _region(ctx.partition))
    acct = ctx.account_id
    listed = ctx.paginate(BUDGETS, client, "describe_budgets", "Budgets", AccountId=acct, absent=_NOT_FOUND)

    def detail(b: dict[str, Any]) -> Budget:
        name = b["BudgetName"]
        arn = f"arn:{ctx.partition}:budgets::{acct}:budget/{name}"
        limit = b.get("BudgetLimit") or {}
        budget = Budget(arn=arn, id=name, name=name, account_id=acct, budget_type=b.get("BudgetType", ""),
                        time_unit=b.get("TimeUnit", ""), limit=f"{limit.get('Amount', '')} {limit.get('Unit', '')}")
        if budget.budget_type != "COST":
            return budget
        raw = ctx.paginate(BUDGETS, client, "describe_notifications_for_budget", "Notifications", AccountId=acct,
                           BudgetName=name, resource_id=arn, absent=_NOT_FOUND)
        if raw is None:
            return budget
        notes = []
        for n in raw:
            subs = ctx.paginate(BUDGETS, client, "describe_subscribers_for_notification", "Subscribers",
                                AccountId=acct, BudgetName=name, Notification=n, resource_id=arn, absent=_NOT_FOUND)
            notes.append(BudgetNotification(
                notification_type=n.get("NotificationType", ""), comparison=n.get("ComparisonOperator", ""),
                threshold=float(n.get("Threshold", 0)), threshold_type=n.get("ThresholdType", ""),
                subscribers=None if subs is None else sorted(
                    (Subscriber(type=s.get("SubscriptionType", ""), address=s.get("Address", "")) for s in subs),
                    key=lambda s: (s.type, s.address))))
        return budget.model_copy(update={"notifications": notes})

    return ctx.map(detail, sorted(listed or [], key=lambda b: b["BudgetName"]))


def _anomaly(ctx: CollectContext) -> tuple[list[AnomalyMonitor], list[AnomalySubscription]]:
    ce = ctx.client("ce", _region(ctx.partition))
    listed = ctx.paginate(ANOMALY, ce, "get_anomaly_monitors", "AnomalyMonitors")
    if not listed:
        return [], []  # no monitor (nothing to subscribe to) or unreadable (gap)
    monitors = sorted((AnomalyMonitor(arn=m["MonitorArn"], id=m["MonitorArn"].rsplit("/", 1)[-1],
                                      account_id=ctx.account_id, name=m.get("MonitorName", ""),
                                      monitor_type=m.get("MonitorType", ""), dimension=m.get("MonitorDimension", ""))
                       for m in listed), key=lambda m: m.arn)
    subs = ctx.paginate(ANOMALY, ce, "get_anomaly_subscriptions", "AnomalySubscriptions")
    subscriptions = sorted((AnomalySubscription(
        arn=s["SubscriptionArn"], id=s["SubscriptionArn"].rsplit("/", 1)[-1], account_id=ctx.account_id,
        name=s.get("SubscriptionName", ""), monitor_arns=sorted(s.get("MonitorArnList") or []),
        frequency=s.get("Frequency", ""),
        subscribers=sorted((Subscriber(type=x.get("Type", ""), address=x.get("Address", ""),
                                       status=x.get("Status", "")) for x in s.get("Subscribers") or []),
                           key=lambda x: (x.type, x.address)))
        for s in subs or []), key=lambda s: s.arn)
    return monitors, subscriptions
