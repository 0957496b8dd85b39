"""IAM Access Analyzer: an active external-access analyzer in every scanned region, and no ACTIVE findings."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.collectors.accessanalyzer import ANALYZERS, FINDINGS, AnalyzerFinding
from auditor.inventory import Inventory
from auditor.models import Finding, ResourceRef, Status
from auditor.registry import check


@check("iam.access-analyzer-enabled", needs=(ANALYZERS,))
def access_analyzer_enabled(inv: Inventory) -> Iterator[Finding]:
    """Access Analyzer proves which resources other accounts or the public can reach, continuously."""
    for region in sorted(inv.regions):
        ref = inv.setting("access-analyzer", "analyzer", region)
        here = [a for a in inv.accessanalyzer.analyzers if a.region == region]
        evidence = {"analyzers": [{"name": a.name, "type": a.type, "status": a.status} for a in here]}
        active = [a for a in here if a.active and a.external_access]
        if active:
            yield Finding.passed(ref, f"Access Analyzer {active[0].name} ({active[0].type}) is active in {region}",
                                 evidence=evidence)
        else:
            other = f" (only {', '.join(f'{a.name}: {a.type} {a.status}' for a in here)})" if here else ""
            yield Finding.failed(ref, f"no active account or organization Access Analyzer in {region}{other}",
                                 evidence=evidence)


def _ref(f: AnalyzerFinding) -> ResourceRef:
    arn = f.resource or f"{f.analyzer_arn}/finding/{f.id}"
    return ResourceRef(arn=arn, id=arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or arn,
                       type=f.resource_type or "AWS::AccessAnalyzer::Finding", region=f.region)


@check("iam.access-analyzer-findings", needs=(ANALYZERS, FINDINGS))
def access_analyzer_findings(inv: Inventory) -> Iterator[Finding]:
    """An ACTIVE external-access finding is a resource someone outside the account can reach right now."""
    aa = inv.accessanalyzer
    for region in sorted(inv.regions):
        ref = inv.setting("access-analyzer", "findings", region)
        analyzers = [a for a in aa.analyzers if a.region == region and a.active and a.external_access]
        if not analyzers:
            yield Finding.with_status(Status.NOT_APPLICABLE, ref, f"no active Access Analyzer in {region}: no "
                                      "findings to review (see iam.access-analyzer-enabled)")
            continue
        found = [f for f in aa.findings if f.region == region and f.status == "ACTIVE"]
        for f in found:
            who = ", ".join(f"{k}: {v}" for k, v in sorted(f.principal.items())) or "unknown principal"
            scope = "public" if f.is_public else who
            yield Finding.failed(_ref(f), f"{f.resource_type or 'resource'} {f.resource} is reachable by {scope} "
                                 f"({', '.join(f.actions) or 'no action listed'})", subkey=f.id, evidence={
                                     "finding_id": f.id, "analyzer": f.analyzer_arn, "principal": f.principal,
                                     "actions": f.actions, "is_public": f.is_public, "conditions": f.conditions,
                                     "sources": f.sources, "owner_account": f.owner_account,
                                     "updated_at": f.updated_at.isoformat() if f.updated_at else None})
        if not found:
            yield Finding.passed(ref, f"no active external-access findings in {region} "
                                 f"(analyzer {', '.join(a.name for a in analyzers)})",
                                 evidence={"analyzers": [a.arn for a in analyzers]})
