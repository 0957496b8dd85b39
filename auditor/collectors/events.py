"""EventBridge rules on the default bus with their targets, and recent write activity from CloudTrail.

Only the default bus receives AWS service events (CloudTrail API calls, GuardDuty findings), so custom buses
are not listed. The write activity (cloudtrail.LookupEvents, ReadOnly=false, last 7 days, latest
ACTIVITY_MAX_EVENTS per region) is evidence for monitoring.changes-outside-pipeline; it is summarised per
principal here and no request parameters are kept.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource

RULES = "events.rules"
TARGETS = "events.targets"
WRITE_EVENTS = "cloudtrail.write-events"
ACTIVITY_DAYS = 7
ACTIVITY_MAX_EVENTS = 1000  # LookupEvents is limited to 2 calls/s per region; 20 pages is enough evidence


class Target(Frozen):
    id: str
    arn: str

    @property
    def service(self) -> str:
        parts = self.arn.split(":")
        return parts[2] if len(parts) > 2 else ""


class EventRule(Resource):
    resource_type: ClassVar[str] = "AWS::Events::Rule"
    name: str
    bus: str = "default"
    state: str = ""
    event_pattern: str | None = None
    schedule: str | None = None
    managed_by: str | None = None
    targets: list[Target] | None = None  # None: ListTargetsByRule failed (see gaps)

    @property
    def enabled(self) -> bool:
        return self.state.startswith("ENABLED")


class EventsSection(Section):
    rules: list[EventRule] = []


@collector("events", section=EventsSection, regional=True, datasets={
    RULES: ("events:ListRules",),
    TARGETS: ("events:ListTargetsByRule",),
})
def collect_events(ctx: CollectContext) -> EventsSection:
    ev = ctx.client()
    listed = ctx.paginate(RULES, ev, "list_rules", "Rules")

    def rule(r: dict[str, Any]) -> EventRule:
        targets = ctx.paginate(TARGETS, ev, "list_targets_by_rule", "Targets", Rule=r["Name"], resource_id=r["Arn"])
        return EventRule(arn=r["Arn"], id=r["Name"], name=r["Name"], region=ctx.region, account_id=ctx.account_id,
                         bus=r.get("EventBusName") or "default", state=r.get("State", ""),
                         event_pattern=r.get("EventPattern") or None, schedule=r.get("ScheduleExpression") or None,
                         managed_by=r.get("ManagedBy") or None,
                         targets=None if targets is None else sorted(
                             (Target(id=t.get("Id", ""), arn=t.get("Arn", "")) for t in targets),
                             key=lambda t: (t.arn, t.id)))

    return EventsSection(rules=ctx.map(rule, sorted(listed or [], key=lambda r: r["Arn"])))


class WriteActor(Frozen):
    """One principal's write (readOnly=false) management events in one region over the lookup window."""
    region: str
    principal: str  # userIdentity.arn
    issuer: str = ""  # the role behind an assumed-role session
    identity_type: str = ""
    events: int = 0
    last_event: datetime | None = None
    event_names: list[str] = []  # up to 5, most frequent first


class ActivitySection(Section):
    actors: list[WriteActor] = []


def _actors(region: str, events: list[dict[str, Any]]) -> list[WriteActor]:
    by: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in events:
        try:
            who = (json.loads(e.get("CloudTrailEvent") or "{}") or {}).get("userIdentity") or {}
        except ValueError:
            who = {}
        if who.get("type") == "AWSService" or who.get("invokedBy"):
            continue  # changes AWS made on its own are not someone bypassing the pipeline
        issuer = ((who.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn", "")
        key = (str(who.get("arn") or e.get("Username") or "unknown"), issuer, str(who.get("type", "")))
        acc = by.setdefault(key, {"events": 0, "last": None, "names": {}})
        acc["events"] += 1
        when = e.get("EventTime")
        acc["last"] = when if acc["last"] is None or (when and when > acc["last"]) else acc["last"]
        name = e.get("EventName", "")
        acc["names"][name] = acc["names"].get(name, 0) + 1
    return [WriteActor(region=region, principal=p, issuer=i, identity_type=t, events=a["events"],
                       last_event=a["last"], event_names=[n for n, _ in sorted(a["names"].items(),
                                                                              key=lambda kv: (-kv[1], kv[0]))][:5])
            for (p, i, t), a in sorted(by.items())]


@collector("cloudtrail_activity", service="cloudtrail", section=ActivitySection, regional=True, datasets={
    WRITE_EVENTS: ("cloudtrail:LookupEvents",),
})
def collect_activity(ctx: CollectContext) -> ActivitySection:
    since = datetime.now(timezone.utc) - timedelta(days=ACTIVITY_DAYS)
    events = ctx.paginate(WRITE_EVENTS, ctx.client(), "lookup_events", "Events", StartTime=since,
                          LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
                          PaginationConfig={"MaxItems": ACTIVITY_MAX_EVENTS})
    return ActivitySection(actors=_actors(ctx.region, events or []))
