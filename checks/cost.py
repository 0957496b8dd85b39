"""Cost guardrails: a cost budget that alerts someone, and Cost Anomaly Detection with a subscriber."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.cost import ANOMALY, BUDGETS, Budget
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check

ALERT_TYPES = ("EMAIL", "SNS")


def _alerting(b: Budget) -> bool | None:
    """True when some notification has an e-mail or SNS subscriber; None when that could not be read."""
    if b.notifications is None:
        return None
    if any(n.subscribers and any(s.type in ALERT_TYPES for s in n.subscribers) for n in b.notifications):
        return True
    return None if any(n.subscribers is None for n in b.notifications) else False


def _budget_facts(b: Budget) -> dict[str, Any]:
    notes: list[dict[str, Any]] | str = "unknown (could not be read)" if b.notifications is None else [
        {"type": n.notification_type, "threshold": n.threshold, "threshold_type": n.threshold_type,
         "subscribers": "unknown" if n.subscribers is None else [f"{s.type}:{s.address}" for s in n.subscribers]}
        for n in b.notifications]
    return {"name": b.name, "limit": b.limit, "time_unit": b.time_unit, "notifications": notes}


@check("cost.budget-configured", needs=(BUDGETS,))
def budget_configured(inv: Inventory) -> Iterator[Finding]:
    """A budget alert is often the first sign of a leaked key mining crypto, or of a runaway resource."""
    cost = [b for b in inv.cost.budgets if b.budget_type == "COST"]
    verdicts = {b.arn: _alerting(b) for b in cost}
    evidence: dict[str, Any] = {"cost_budgets": [_budget_facts(b) for b in cost],
                                "other_budgets": sorted(b.name for b in inv.cost.budgets if b.budget_type != "COST")}
    good = [b for b in cost if verdicts[b.arn]]
    if good:
        who = sorted({s.address for n in good[0].notifications or [] for s in n.subscribers or []
                      if s.type in ALERT_TYPES})
        yield Finding.passed(inv.account(), f"cost budget {good[0].name} alerts {', '.join(who)}",
                             evidence={**evidence, "satisfied_by": [b.name for b in good]})
        return
    unknown = [b for b in cost if verdicts[b.arn] is None]
    if unknown:
        gaps = [g for g in inv.gaps if g.dataset == BUDGETS and g.resource_id in {b.arn for b in unknown}]
        finding = Finding.with_status(Status.ERROR, inv.account(), "cannot tell whether a cost budget alerts anyone: "
                                      f"notifications of {', '.join(b.name for b in unknown)} could not be read",
                                      evidence=evidence)
        yield finding.model_copy(update={"gap": gaps[0] if gaps else None})
        return
    if not cost:
        reason = "no COST budget exists"
    elif not any(b.notifications for b in cost):
        reason = f"cost budget(s) {', '.join(b.name for b in cost)} have no notification"
    else:
        reason = f"no notification of {', '.join(b.name for b in cost)} has an e-mail or SNS subscriber"
    yield Finding.failed(inv.account(), f"no cost budget alerts anyone: {reason}", evidence=evidence)


@check("cost.anomaly-detection", needs=(ANOMALY,))
def anomaly_detection(inv: Inventory) -> Iterator[Finding]:
    """Anomaly detection catches a spend spike within a day, long before the monthly budget threshold."""
    cost = inv.cost
    covered = []
    for m in cost.monitors:
        subs = [s for s in cost.subscriptions if m.arn in s.monitor_arns
                and any(x.status != "DECLINED" for x in s.subscribers)]
        if subs:
            covered.append((m, subs))
    evidence = {"monitors": [f"{m.name} ({m.monitor_type})" for m in cost.monitors],
                "subscriptions": [{"name": s.name, "monitors": s.monitor_arns, "frequency": s.frequency,
                                   "subscribers": [f"{x.type}:{x.address} ({x.status or 'unknown'})"
                                                   for x in s.subscribers]} for s in cost.subscriptions]}
    if covered:
        m, subs = covered[0]
        yield Finding.passed(inv.account(), f"cost anomaly monitor {m.name} notifies through subscription "
                             f"{subs[0].name}", evidence=evidence)
    elif not cost.monitors:
        yield Finding.failed(inv.account(), "Cost Anomaly Detection has no monitor", evidence=evidence)
    else:
        yield Finding.failed(inv.account(), "no cost anomaly monitor has a subscription with an active subscriber "
                             f"(monitors: {', '.join(m.name for m in cost.monitors)})", evidence=evidence)
