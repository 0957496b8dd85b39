"""AWS Support plan and Trusted Advisor: premium support for production accounts, no red security items."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.collectors.support import PLAN, TRUSTED_ADVISOR
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check


@check("trustedadvisor.no-high-risk-items", needs=(TRUSTED_ADVISOR,))
def no_high_risk_items(inv: Inventory) -> Iterator[Finding]:
    """A red Trusted Advisor security check is a known, high-risk misconfiguration AWS already pointed out."""
    sup = inv.support
    if sup.trusted_advisor_available is None:
        return  # could not be read: the runner reports the gap as ERROR
    if not sup.trusted_advisor_available:
        yield Finding.with_status(Status.NOT_APPLICABLE, inv.account(),
                                  "basic support: limited checks; the Trusted Advisor API needs a Business, Enterprise "
                                  "On-Ramp or Enterprise support plan (see support.premium-plan)",
                                  evidence={"support_plan": "basic or developer"})
        return
    for c in sup.checks:
        if c.status not in ("ok", "warning", "error"):
            continue  # not_available (or no summary yet): nothing to judge
        evidence = {"name": c.name, "status": c.status, "resources_flagged": c.flagged,
                    "resources_processed": c.processed, "refreshed_at": c.refreshed_at}
        if c.status == "error":
            yield Finding.failed(c, f"Trusted Advisor security check '{c.name}' is red ({c.flagged} resource(s) "
                                 "flagged)", evidence=evidence)
        else:
            note = f" (warning: {c.flagged} resource(s) flagged yellow)" if c.status == "warning" else ""
            yield Finding.passed(c, f"Trusted Advisor security check '{c.name}' is not red{note}",
                                 evidence={**evidence, "warning": c.status == "warning"})


@check("support.premium-plan", needs=(PLAN,))
def premium_plan(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Production accounts need fast access to AWS during an incident, and the full Trusted Advisor checks."""
    premium = inv.support.premium
    plan = {True: "Business, Enterprise On-Ramp or Enterprise", False: "Basic or Developer", None: "unknown"}[premium]
    evidence = {"support_plan": plan, "production_accounts": cfg.production_accounts}
    if "*" not in cfg.production_accounts and inv.account_id not in cfg.production_accounts:
        yield Finding.with_status(Status.NOT_APPLICABLE, inv.account(),
                                  f"account {inv.account_id} is not listed as production (config production_accounts);"
                                  f" support plan: {plan}", evidence=evidence)
        return
    if premium is None:
        return  # DescribeSeverityLevels could not be read: the runner reports the gap as ERROR
    yield Finding.of(inv.setting("support", "plan"), passed=premium, evidence=evidence,
                     message=f"production account {inv.account_id} has a {plan} support plan" if premium
                     else f"production account {inv.account_id} has only a {plan} support plan (the Support API "
                          "answered SubscriptionRequiredException)")
