"""The HTML scorecard: one self-contained file (inline CSS and JS, no URL at all) an auditor can open offline.

Everything from the account (names, tags, descriptions) reaches the page either through jinja2 autoescaping or as
JSON inside <script type="application/json"> with '<', '>' and '&' escaped; the page script only uses textContent.
A Content-Security-Policy allows no network at all and only our own script (by hash).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timezone
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from auditor.catalog import FRAMEWORK_LABELS
from auditor.models import AuditResult, CheckInfo, Finding, Status
from reports.base import Renderer

SOURCE_TITLES = {  # the five source articles of the checklist (shared/checklist.md §0)
    "000": "Jit: Bootstrapping a Secure AWS as-Code Environment (MVS checklist)",
    "001": "Upstart: A Step-by-Step Approach to a Secure AWS Environment",
    "002": "8th Light: AWS Security Essentials checklists",
    "003": "Hydrate an AWS Account (frickjack)",
    "004": "FivexL: Reaction to the AWS Security Baseline for Startups",
}
TABLE_STATUSES = (Status.FAIL, Status.WAIVED, Status.PASS, Status.NOT_APPLICABLE)
STATUS_LABELS = {"PASS": "Pass", "FAIL": "Fail", "WAIVED": "Waived", "ERROR": "Not assessed", "MANUAL": "Manual",
                 "NOT_APPLICABLE": "Not applicable"}
FORMULA = ("Score = PASS ÷ (PASS + FAIL) × 100, counted over findings (one per check and resource). "
           "Waived, not assessed, manual and not-applicable findings count on neither side.")


class HtmlRenderer(Renderer):
    name = "html"
    suffix = ".html"

    def render(self, result: AuditResult) -> str:
        env = _env()
        css, js = (env.loader.get_source(env, name)[0] for name in ("report.css", "report.js"))  # type: ignore[union-attr]
        digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode()
        csp = (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
               "base-uri 'none'; form-action 'none'")
        return env.get_template("report.html.j2").render(
            r=result, v=view(result), csp=csp, css=Markup(css), js=Markup(js), formula=FORMULA,
            labels=STATUS_LABELS, data=Markup(script_json(table_data(result))))


def _env() -> Environment:
    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=_visible)
    env.filters["utc"] = _utc
    env.filters["pct"] = lambda s: "n/a" if s is None else f"{s:g}"
    env.filters["attestation"] = _attestation
    return env


BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _visible(value: Any) -> Any:
    """Bidi controls in account names could reorder what the auditor reads (Trojan Source): show them as code points."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", value)
    return value


def _attestation(text: str) -> str:
    """The catalog says 'Yes - attest with X' (attestable, and how); the page shows only the how."""
    m = re.match(r"(?i)^\s*yes\b[\s\-–:,]*(.*)$", text or "", re.S)
    rest = (m.group(1) if m else text or "").strip().strip("()").strip()
    return rest[:1].upper() + rest[1:] if rest else "Written attestation by the control owner"


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no '</script>', '<!--' or entity can form."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def score(findings: list[Finding]) -> dict[str, Any]:
    c = Counter(f.status.value for f in findings)
    judged = c["PASS"] + c["FAIL"]
    return {"score": round(100.0 * c["PASS"] / judged, 1) if judged else None, "pass": c["PASS"], "fail": c["FAIL"],
            "waived": c["WAIVED"], "error": c["ERROR"], "checks": len({f.check_id for f in findings})}


def view(result: AuditResult) -> dict[str, Any]:
    infos = {c.id: c for c in result.checks}
    assessed = [f for f in result.findings if f.status is not Status.MANUAL]
    by_area: dict[str, list[Finding]] = defaultdict(list)
    for f in assessed:
        by_area[infos[f.check_id].area if f.check_id in infos else "Other"].append(f)
    return {
        "overall": score(assessed),
        "frameworks": _framework_rows(assessed, infos),
        "areas": [{"label": a, "detail": "", **score(fs)}
                  for a, fs in sorted(by_area.items(), key=lambda kv: _area_key(kv[0]))],
        "not_assessed": _not_assessed(result),
        "missing_actions": sorted({f.gap.iam_action for f in result.findings if f.gap and f.status is Status.ERROR}),
        "manual": [(f, infos.get(f.check_id)) for f in result.findings if f.status is Status.MANUAL],
        "waived": [(f, infos.get(f.check_id), _days_left(f, result.finished_at)) for f in result.findings
                   if f.status is Status.WAIVED],
        "justified": [(f, infos.get(f.check_id), _justification(f)) for f in result.findings if _justification(f)],
        "regions": ", ".join(result.regions) or "none",
        "duration": _duration(result.started_at, result.finished_at),
        "api_calls": sum(result.api_calls.values()),
    }


def _framework_rows(findings: list[Finding], infos: dict[str, CheckInfo]) -> list[dict[str, Any]]:
    def mapped(pred: Any) -> list[Finding]:
        return [f for f in findings if f.check_id in infos and pred(infos[f.check_id].frameworks)]

    rows = [{"label": FRAMEWORK_LABELS["cis_v7"], "detail": "CIS Amazon Web Services Foundations Benchmark",
             **score(mapped(lambda fw: fw.get("cis_v7")))},
            {"label": FRAMEWORK_LABELS["ssb"], "detail": "AWS Prescriptive Guidance",
             **score(mapped(lambda fw: fw.get("ssb")))}]
    for sid, title in SOURCE_TITLES.items():
        rows.append({"label": f"Source {sid}", "detail": title,
                     **score(mapped(lambda fw, sid=sid: sid in fw.get("sources", [])))})
    return rows


def _area_key(area: str) -> tuple[list[int], str]:
    m = re.match(r"([\d.]+)\s", area)
    return ([int(x) for x in m.group(1).strip(".").split(".") if x] if m else [999], area)


def _not_assessed(result: AuditResult) -> list[dict[str, Any]]:
    """ERROR findings grouped by what is missing: an IAM action, or the reason when no read failed."""
    groups: dict[str, dict[str, Any]] = {}
    for f in result.findings:
        if f.status is not Status.ERROR:
            continue
        key = f.gap.iam_action if f.gap else f.message
        g = groups.setdefault(key, {"action": f.gap.iam_action if f.gap else None, "reason": f.message,
                                    "codes": set(), "checks": set(), "regions": set(), "resources": set()})
        if f.gap:
            g["codes"].add(f.gap.error_code)
            g["reason"] = f"{f.gap.operation} failed: {f.gap.error_code}"
            if f.gap.resource_id:
                g["resources"].add(f.gap.resource_id)
        g["checks"].add(f.check_id)
        g["regions"].add(f.region)
    return [{**g, **{k: sorted(g[k]) for k in ("codes", "checks", "regions", "resources")}}
            for _, g in sorted(groups.items(), key=lambda kv: (kv[1]["action"] is None, kv[0]))]


def _days_left(f: Finding, when: datetime) -> int | None:
    try:
        return (date.fromisoformat(str((f.waiver or {}).get("expires"))) - when.date()).days
    except ValueError:
        return None


def _justification(f: Finding) -> str:
    """An in-account justification (e.g. the security-group tag) carried in a finding's evidence."""
    for k, v in f.evidence.items():
        if "justification" in k.lower() and isinstance(v, str) and v.strip():
            return v
    return ""


def table_data(result: AuditResult) -> dict[str, Any]:
    """What the page script filters and sorts; compact keys keep large reports small."""
    used = {f.check_id for f in result.findings}
    checks = {c.id: {"title": c.title, "area": c.area, "service": c.service, "rationale": c.rationale,
                     "remediation": c.remediation, "fw": _fw_keys(c), "fwl": _fw_labels(c)}
              for c in result.checks if c.id in used}
    rows = [{"c": f.check_id, "s": f.status.value, "v": f.severity.value, "r": f.region, "a": f.account_id,
             "arn": f.resource.arn, "id": f.resource.id, "t": f.resource.type, "m": f.message, "k": f.subkey,
             "e": f.evidence, "w": f.waiver}
            for f in result.findings if f.status in TABLE_STATUSES]
    return {"checks": checks, "findings": rows, "statusLabels": STATUS_LABELS,
            "frameworks": {"cis_v7": "CIS v7", "ssb": "SSB", **{f"source:{s}": f"Source {s}" for s in SOURCE_TITLES}}}


def _fw_keys(c: CheckInfo) -> list[str]:
    fw = c.frameworks
    return ((["cis_v7"] if fw.get("cis_v7") else []) + (["ssb"] if fw.get("ssb") else [])
            + [f"source:{s}" for s in fw.get("sources", [])])


def _fw_labels(c: CheckInfo) -> list[str]:
    fw = c.frameworks
    return ([f"CIS v7 {x}" for x in fw.get("cis_v7", [])] + [f"SSB {x}" for x in fw.get("ssb", [])]
            + [f"Source {x}" for x in fw.get("sources", [])])


def _utc(dt: datetime) -> str:
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _duration(start: datetime, end: datetime) -> str:
    secs = max(0, int((end - start).total_seconds()))
    return f"{secs // 60} min {secs % 60} s" if secs >= 60 else f"{secs} s"
