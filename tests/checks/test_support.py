"""Trusted Advisor security items and the support plan. moto lists the Trusted Advisor checks but lacks their
summaries and DescribeSeverityLevels: those are answered with recorded responses."""
from __future__ import annotations

import boto3

from auditor.config import AuditConfig
from auditor.models import Status
from tests.conftest import ACCOUNT, client_error, deny, only, recorded, scan

TA = "trustedadvisor.no-high-risk-items"
PLAN = "support.premium-plan"
PRODUCTION = AuditConfig(workers=4, production_accounts=["*"])


def _security_checks() -> list[str]:
    checks = boto3.client("support", region_name="us-east-1").describe_trusted_advisor_checks(language="en")
    return sorted(c["id"] for c in checks["checks"] if c["category"] == "security")


def _summaries(statuses: dict[str, str]):
    def answer(body: dict) -> dict:
        return {"summaries": [{"checkId": cid, "timestamp": "2026-02-01T00:00:00Z", "hasFlaggedResources": True,
                               "status": statuses.get(cid, "ok"),
                               "resourcesSummary": {"resourcesProcessed": 10, "resourcesFlagged": 2,
                                                    "resourcesIgnored": 0, "resourcesSuppressed": 0},
                               "categorySpecificSummary": {}} for cid in body["checkIds"]]}
    return answer


def test_trusted_advisor_red_check_fails_others_pass(session):
    ids = _security_checks()
    red, yellow = ids[0], ids[1]
    asked = recorded(session, "support.DescribeTrustedAdvisorCheckSummaries",
                     _summaries({red: "error", yellow: "warning", ids[2]: "not_available"}))
    result = scan(session, [TA])
    found = {f.resource.id: f for f in only(result, TA)}
    assert asked[0]["checkIds"] == ids  # one call for every security check
    assert found[red].status is Status.FAIL and "is red (2 resource(s) flagged)" in found[red].message
    assert found[red].resource.arn == f"arn:aws:trustedadvisor::{ACCOUNT}:check/{red}"
    assert found[yellow].status is Status.PASS and found[yellow].evidence["warning"] is True
    assert ids[2] not in found and len(found) == len(ids) - 1
    assert {f.status for i, f in found.items() if i != red} == {Status.PASS}


def test_trusted_advisor_basic_support_is_not_applicable(session):
    deny(session, "support.DescribeTrustedAdvisorChecks", code="SubscriptionRequiredException")
    result = scan(session, [TA])
    [f] = only(result, TA)
    assert f.status is Status.NOT_APPLICABLE and "basic support: limited checks" in f.message
    assert not [g for g in result.gaps if g.dataset == "trustedadvisor.checks"]  # data, not a gap


def test_trusted_advisor_error_on_moto_and_when_denied(session):
    [f] = only(scan(session, [TA]), TA)  # moto lacks DescribeTrustedAdvisorCheckSummaries
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    deny(session, "support.DescribeTrustedAdvisorChecks")
    [f] = only(scan(session, [TA]), TA)
    assert f.status is Status.ERROR and f.gap.iam_action == "support:DescribeTrustedAdvisorChecks"


def test_premium_plan_pass(session):
    recorded(session, "support.DescribeSeverityLevels", {"severityLevels": [
        {"code": "low", "name": "Low"}, {"code": "critical", "name": "Critical"}]})
    [f] = only(scan(session, [PLAN], cfg=PRODUCTION), PLAN)
    assert f.status is Status.PASS and "Business, Enterprise On-Ramp or Enterprise" in f.message


def test_premium_plan_fail_on_basic_support(session):
    recorded(session, "support.DescribeSeverityLevels", client_error("SubscriptionRequiredException",
                                                                     "AWS Premium Support Subscription is required"))
    result = scan(session, [PLAN], cfg=AuditConfig(workers=4, production_accounts=[ACCOUNT]))
    [f] = only(result, PLAN)
    assert f.status is Status.FAIL and "Basic or Developer" in f.message
    assert not [g for g in result.gaps if g.dataset == "support.plan"]  # data, not a gap


def test_premium_plan_error_on_moto_and_when_denied(session):
    [f] = only(scan(session, [PLAN], cfg=PRODUCTION), PLAN)  # moto lacks DescribeSeverityLevels
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    deny(session, "support.DescribeSeverityLevels")
    [f] = only(scan(session, [PLAN], cfg=PRODUCTION), PLAN)
    assert f.status is Status.ERROR and f.gap.iam_action == "support:DescribeSeverityLevels"


def test_premium_plan_not_applicable_unless_production(session):
    recorded(session, "support.DescribeSeverityLevels", {"severityLevels": []})
    [f] = only(scan(session, [PLAN], cfg=AuditConfig(workers=4, production_accounts=["111122223333"])), PLAN)
    assert f.status is Status.NOT_APPLICABLE and "not listed as production" in f.message
