"""Cost budgets and Cost Anomaly Detection. moto has budgets and notifications but lacks their subscribers and
the whole anomaly API: those are answered with recorded responses."""
from __future__ import annotations

import boto3
import pytest

from auditor.models import Status
from tests.conftest import ACCOUNT, client_error, deny, only, recorded, scan

BUDGET = "cost.budget-configured"
ANOMALY = "cost.anomaly-detection"
NOTE = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0}


def _budget(name: str = "monthly", kind: str = "COST", notify: bool = True) -> None:
    extra = {"NotificationsWithSubscribers": [{"Notification": NOTE, "Subscribers": [
        {"SubscriptionType": "EMAIL", "Address": "ops@example.com"}]}]} if notify else {}
    boto3.client("budgets", region_name="us-east-1").create_budget(AccountId=ACCOUNT, Budget={
        "BudgetName": name, "BudgetType": kind, "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": "100", "Unit": "USD" if kind == "COST" else "GBP"}}, **extra)


def _subscribers(*subs: tuple[str, str]):
    return {"Subscribers": [{"SubscriptionType": t, "Address": a} for t, a in subs]}


def test_budget_pass_names_the_subscribers(session):
    _budget()
    asked = recorded(session, "budgets.DescribeSubscribersForNotification",
                     _subscribers(("EMAIL", "ops@example.com"), ("SNS", "arn:aws:sns:us-east-1:1:billing")))
    [f] = only(scan(session, [BUDGET]), BUDGET)
    assert f.status is Status.PASS and "ops@example.com" in f.message and f.evidence["satisfied_by"] == ["monthly"]
    assert asked[0]["BudgetName"] == "monthly" and asked[0]["Notification"]["Threshold"] == 80.0


@pytest.mark.parametrize("setup, why", [
    (lambda: None, "no COST budget exists"),
    (lambda: _budget(kind="USAGE"), "no COST budget exists"),
    (lambda: _budget(notify=False), "have no notification"),
    (lambda: _budget(), "has an e-mail or SNS subscriber"),
])
def test_budget_fail_says_why(session, setup, why):
    setup()
    recorded(session, "budgets.DescribeSubscribersForNotification", _subscribers())
    [f] = only(scan(session, [BUDGET]), BUDGET)
    assert f.status is Status.FAIL and why in f.message


def test_budget_error_on_moto_and_when_denied(session):
    _budget()
    findings = {f.resource.id: f for f in only(scan(session, [BUDGET]), BUDGET)}  # moto lacks the subscribers
    assert {i: f.status for i, f in findings.items()} == {ACCOUNT: Status.ERROR, "monthly": Status.ERROR}
    assert findings[ACCOUNT].gap.error_code == "Unsupported" and "monthly" in findings[ACCOUNT].message
    deny(session, "budgets.DescribeBudgets")
    [f] = only(scan(session, [BUDGET]), BUDGET)
    assert f.status is Status.ERROR and f.gap.iam_action == "budgets:ViewBudget"


def test_budget_pass_survives_another_budgets_unreadable_subscribers(session):
    _budget("alpha")
    _budget("beta")
    recorded(session, "budgets.DescribeSubscribersForNotification", lambda body: _subscribers(
        ("EMAIL", "ops@example.com")) if body["BudgetName"] == "beta" else client_error("AccessDeniedException"))
    findings = {f.resource.id: f.status for f in only(scan(session, [BUDGET]), BUDGET)}
    assert findings == {ACCOUNT: Status.PASS, "alpha": Status.ERROR}


MONITOR = f"arn:aws:ce::{ACCOUNT}:anomalymonitor/m-1"


def _monitors(*arns: str) -> dict:
    return {"AnomalyMonitors": [{"MonitorArn": a, "MonitorName": "services", "MonitorType": "DIMENSIONAL",
                                 "MonitorDimension": "SERVICE"} for a in arns]}


def _subscription(monitors: list[str], subscribers: list[dict]) -> dict:
    return {"AnomalySubscriptions": [{"SubscriptionArn": f"arn:aws:ce::{ACCOUNT}:anomalysubscription/s-1",
                                      "SubscriptionName": "daily", "AccountId": ACCOUNT, "MonitorArnList": monitors,
                                      "Subscribers": subscribers, "Frequency": "DAILY"}]}


def test_anomaly_pass(session):
    recorded(session, "ce.GetAnomalyMonitors", _monitors(MONITOR))
    recorded(session, "ce.GetAnomalySubscriptions", _subscription(
        [MONITOR], [{"Address": "ops@example.com", "Type": "EMAIL", "Status": "CONFIRMED"}]))
    [f] = only(scan(session, [ANOMALY]), ANOMALY)
    assert f.status is Status.PASS and "services" in f.message and "daily" in f.message


@pytest.mark.parametrize("subscription, why", [
    (_subscription(["arn:aws:ce::1:anomalymonitor/other"], [{"Address": "a@b.c", "Type": "EMAIL"}]),
     "no cost anomaly monitor has a subscription"),
    (_subscription([MONITOR], [{"Address": "a@b.c", "Type": "EMAIL", "Status": "DECLINED"}]),
     "no cost anomaly monitor has a subscription"),
    (_subscription([MONITOR], []), "no cost anomaly monitor has a subscription"),
])
def test_anomaly_fail_without_active_subscriber(session, subscription, why):
    recorded(session, "ce.GetAnomalyMonitors", _monitors(MONITOR))
    recorded(session, "ce.GetAnomalySubscriptions", subscription)
    [f] = only(scan(session, [ANOMALY]), ANOMALY)
    assert f.status is Status.FAIL and why in f.message


def test_anomaly_fail_without_monitor_never_asks_for_subscriptions(session):
    recorded(session, "ce.GetAnomalyMonitors", _monitors())
    asked = recorded(session, "ce.GetAnomalySubscriptions", _subscription([], []))
    [f] = only(scan(session, [ANOMALY]), ANOMALY)
    assert f.status is Status.FAIL and "no monitor" in f.message and asked == []


def test_anomaly_error_on_moto_and_when_denied(session):
    [f] = only(scan(session, [ANOMALY]), ANOMALY)  # moto lacks the anomaly API
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    deny(session, "ce.GetAnomalyMonitors")
    [f] = only(scan(session, [ANOMALY]), ANOMALY)
    assert f.status is Status.ERROR and f.gap.iam_action == "ce:GetAnomalyMonitors"
