"""Demo detection services and cost guardrails, as a first month leaves them.

Inspector on in us-east-1 only; Macie never turned on (moto starts with it enabled, so it is switched off);
one Config rule in us-east-1; one monthly cost budget that e-mails the founders; no cost anomaly monitor.
GuardDuty (us-east-1) and the Config recorder come from the logging step.
"""
from __future__ import annotations

from auditor.demo import DemoContext, demo_step

ACCOUNT = "123456789012"  # moto's default account
BUDGET = "monthly-spend"


@demo_step("detection")
def detection_services(ctx: DemoContext) -> None:
    ctx.client("inspector2", "us-east-1").enable(accountIds=[ACCOUNT], resourceTypes=["EC2", "ECR", "LAMBDA"])
    for region in ctx.regions:
        ctx.client("macie2", region).disable_macie()
    ctx.client("config", "us-east-1").put_config_rule(ConfigRule={
        "ConfigRuleName": "s3-bucket-versioning-enabled",
        "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"}})
    ctx.client("budgets", "us-east-1").create_budget(
        AccountId=ACCOUNT,
        Budget={"BudgetName": BUDGET, "BudgetType": "COST", "TimeUnit": "MONTHLY",
                "BudgetLimit": {"Amount": "500", "Unit": "USD"}},
        NotificationsWithSubscribers=[{
            "Notification": {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80,
                             "ThresholdType": "PERCENTAGE"},
            "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "founders@example.com"}]}])
    ctx.notes.append("detection: Inspector in us-east-1 only; Macie off; one Config rule (us-east-1); "
                     f"cost budget {BUDGET} e-mails founders@example.com at 80%; no cost anomaly monitor")
