"""Rows for `auditor list-checks`: implemented checks, optionally the rest of the catalog."""
from __future__ import annotations

from auditor.catalog import catalog, framework_tags
from auditor.models import Severity
from auditor.registry import CHECKS
from auditor.runner import load_checks


def list_checks(*, service: str | None = None, severity: Severity | None = None, framework: str | None = None,
                include_all: bool = False) -> list[dict[str, object]]:
    load_checks()
    rows = []
    for item in catalog().values():
        implemented = item.id in CHECKS
        if not implemented and not include_all:
            continue
        sev = CHECKS.get(item.id).severity if implemented else item.severity
        tags = framework_tags(item)
        if service and item.service != service:
            continue
        if severity and sev != severity:
            continue
        if framework and not any(t == framework or t.startswith(framework + ":") or t.startswith(framework + ".")
                                 for t in tags):
            continue
        status = "manual" if item.manual else ("automated" if implemented else "not yet")
        rows.append({"id": item.id, "severity": sev.value, "service": item.service, "title": item.title,
                     "frameworks": tags, "status": status, "area": item.area})
    return rows
