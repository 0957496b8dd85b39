"""The organization scorecard: accounts x areas heatmap, worst accounts first, each account's scorecard inline.

One self-contained file under the same rules as the account scorecard (reports/html.py, whose environment, macros,
stylesheet and view it reuses): jinja2 autoescaping for everything from the accounts, bidi controls made visible,
a Content-Security-Policy that allows no network and only our own script (by hash). The page works without the
script; the script only opens the account a link points at and filters the heatmap rows.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from markupsafe import Markup

from auditor.merge import AccountEntry, OrgResult, shard_of
from auditor.models import Finding, Status
from reports.html import FORMULA, STATUS_LABELS, _area_key, _env, score, view

MANUAL_AREA = "2. Manual"
# Failing findings listed per account (the account's own report has them all), shrinking with the organization so
# that a thousand accounts still make a page a browser opens: about 20,000 rows at most.
MAX_FINDINGS, MIN_FINDINGS, PAGE_FINDINGS = 200, 20, 20_000
HEAT_STEPS = 10


class OrgHtmlRenderer:
    """Not a `Renderer`: it takes an OrgResult. Each account's AuditResult still renders with HtmlRenderer."""

    suffix = ".html"

    def render(self, org: OrgResult) -> str:
        env = _env()
        src = {n: env.loader.get_source(env, n)[0]  # type: ignore[union-attr]
               for n in ("report.css", "org.css.j2", "org.js.j2")}
        js = src["org.js.j2"]
        digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode()
        csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
               "base-uri 'none'; form-action 'none'")
        return env.get_template("org.html.j2").render(
            o=org, v=org_view(org), csp=csp, css=Markup(src["report.css"] + src["org.css.j2"]), js=Markup(js),
            formula=FORMULA, labels=STATUS_LABELS, max_findings=findings_per_account(len(org.accounts)))


def findings_per_account(accounts: int) -> int:
    return max(MIN_FINDINGS, min(MAX_FINDINGS, PAGE_FINDINGS // max(1, accounts)))


def org_view(org: OrgResult) -> dict[str, Any]:
    rows = [_row(e) for e in org.accounts]
    rows += [_row(AccountEntry(account_id=a, shard=shard_of(a, org.selected, org.shard_count),
                               error=f"no report: shard {shard_of(a, org.selected, org.shard_count)}/"
                                     f"{org.shard_count} was not merged")) for a in org.missing]
    rows.sort(key=_worst_first)
    areas = sorted({a for r in rows for a in r["cells"]}, key=_area_key)
    assessed = [f for r in org.results() for f in r.findings if f.status is not Status.MANUAL]
    by_area: dict[str, list[Finding]] = {}
    for r in org.results():
        infos = {c.id: c.area for c in r.checks}
        for f in r.findings:
            if f.status is not Status.MANUAL:
                by_area.setdefault(infos.get(f.check_id, "Other"), []).append(f)
    sev: dict[str, int] = {}
    for r in org.results():
        for k, n in r.summary.by_severity_failed.items():
            sev[k] = sev.get(k, 0) + n
    return {
        "rows": rows,
        "areas": [{"label": a, "short": _short(a), **_cell(score(by_area.get(a, [])))} for a in areas],
        "overall": score(assessed),
        "overall_cell": _cell(score(assessed)),
        "severity": sev,
        "scanned": len(org.results()),
        "not_scanned": len(org.accounts) - len(org.results()),
        "incomplete": sum(1 for r in org.results() if not r.summary.complete),
        "shards": ", ".join(str(s) for s in org.shards) or "none",
    }


def _row(e: AccountEntry) -> dict[str, Any]:
    if e.result is None:
        return {"e": e, "r": None, "v": None, "cells": {}, "overall": _cell(None), "fails": [], "crit": 0}
    v = view(e.result)
    fails = sorted((f for f in e.result.findings if f.status is Status.FAIL),
                   key=lambda f: (-f.severity.rank, f.check_id, f.region, f.resource.arn, f.subkey))
    infos = {c.id: c for c in e.result.checks}
    return {"e": e, "r": e.result, "v": v, "infos": infos, "fails": fails, "overall": _cell(v["overall"]),
            "cells": {a["label"]: _cell(a) for a in v["areas"] if a["label"] != MANUAL_AREA},
            "crit": sum(e.result.summary.by_severity_failed.get(s, 0) for s in ("critical", "high"))}


def _cell(s: dict[str, Any] | None) -> dict[str, Any]:
    """Score numbers plus the heat class: h0 (0-9%) .. h10 (100%), hna nothing judged, herr only unassessed."""
    if s is None:
        return {"score": None, "heat": "herr", "pass": 0, "fail": 0, "error": 0, "waived": 0}
    if s["score"] is None:
        heat = "herr" if s["error"] else "hna"
    else:
        heat = f"h{min(HEAT_STEPS, int(s['score'] // (100 / HEAT_STEPS)))}"
    return {**s, "heat": heat}


def _worst_first(row: dict[str, Any]) -> tuple[Any, ...]:
    """Unscanned accounts first (nothing is known), then nothing judged, then lowest score, most critical/high."""
    s = row["overall"]["score"]
    return (row["r"] is not None, s is not None, s or 0.0, -row["crit"], -row["overall"]["fail"],
            row["e"].account_id)


def _short(area: str) -> str:
    """'1.3 IAM users & credentials' -> '1.3'; the full label is the column's title."""
    head = area.split(" ", 1)[0]
    return head if head[:1].isdigit() else area
