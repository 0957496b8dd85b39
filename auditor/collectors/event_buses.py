"""EventBridge event buses with their resource policies (ListEventBuses carries each bus's Policy)."""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource

EVENT_BUSES = "events.buses"


class EventBus(Resource):
    resource_type: ClassVar[str] = "AWS::Events::EventBus"
    name: str
    policy: str | None = None  # None: no resource policy


class EventBusesSection(Section):
    buses: list[EventBus] = []


@collector("event_buses", service="events", section=EventBusesSection, regional=True, datasets={
    EVENT_BUSES: ("events:ListEventBuses",),
})
def collect_event_buses(ctx: CollectContext) -> EventBusesSection:
    ev = ctx.client()
    buses: list[dict[str, Any]] = []
    token = ""
    while True:  # no boto3 paginator for ListEventBuses
        resp = ctx.call(EVENT_BUSES, ev, "list_event_buses", **({"NextToken": token} if token else {}))
        if resp is None:
            return EventBusesSection()
        buses.extend(resp.get("EventBuses") or [])
        token = resp.get("NextToken") or ""
        if not token:
            break
    return EventBusesSection(buses=sorted(
        (EventBus(arn=b["Arn"], id=b["Name"], name=b["Name"], region=ctx.region, account_id=b["Arn"].split(":")[4],
                  policy=b.get("Policy") or None) for b in buses), key=lambda b: b.arn))
