"""AWS Shield Advanced: the account's subscription and the resources it protects (global API, us-east-1)."""
from __future__ import annotations

from datetime import datetime

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Frozen

SUBSCRIPTION = "shield.subscription"
PROTECTIONS = "shield.protections"
API_REGION = "us-east-1"


class ShieldSubscription(Frozen):
    subscribed: bool
    start: datetime | None = None
    end: datetime | None = None
    auto_renew: str = ""


class Protection(Frozen):
    name: str
    resource_arn: str


class ShieldSection(Section):
    subscription: ShieldSubscription | None = None  # None: unreadable (see gaps)
    protections: list[Protection] | None = None


@collector("shield", section=ShieldSection, regional=False, datasets={
    SUBSCRIPTION: ("shield:DescribeSubscription",),
    PROTECTIONS: ("shield:ListProtections",),
})
def collect_shield(ctx: CollectContext) -> ShieldSection:
    shield = ctx.client("shield", API_REGION)
    # ResourceNotFoundException is Shield's answer for "no subscription" / "no protections": data, not a gap.
    resp = ctx.call(SUBSCRIPTION, shield, "describe_subscription", absent=("ResourceNotFoundException",))
    if resp is None:
        sub = None
    elif resp is NOT_FOUND:
        sub = ShieldSubscription(subscribed=False)
    else:
        s = resp.get("Subscription", {})
        sub = ShieldSubscription(subscribed=True, start=s.get("StartTime"), end=s.get("EndTime"),
                                 auto_renew=s.get("AutoRenew", ""))
    listed = ctx.paginate(PROTECTIONS, shield, "list_protections", "Protections",
                          absent=("ResourceNotFoundException",))
    protections = None if listed is None else sorted(
        (Protection(name=p.get("Name", ""), resource_arn=p.get("ResourceArn", "")) for p in listed),
        key=lambda p: p.resource_arn)
    return ShieldSection(subscription=sub, protections=protections)
