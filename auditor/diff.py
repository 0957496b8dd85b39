"""Compare two JSON reports: what newly fails, what got fixed, what persists, and what can no longer be read."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from auditor.config import ConfigError
from auditor.models import GLOBAL, AuditResult, Finding, Status


class ReportDiff(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    old_scan: datetime
    new_scan: datetime
    new_failures: list[Finding]  # FAIL now, not FAIL before (new, regressed, or a waiver that lapsed)
    fixed: list[Finding]  # FAIL before; now PASS, or gone while its check ran cleanly in that scope
    persisting: list[Finding]  # FAIL in both (the new scan's finding)
    new_gaps: list[Finding]  # ERROR now, not ERROR before: could not be assessed


def load_report(path: str | Path) -> AuditResult:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read report {p}: {exc.strerror or exc}") from None
    try:
        return AuditResult.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise ConfigError(f"{p} is not an auditor JSON report: {loc}: {first['msg']}") from None


def diff_results(old: AuditResult, new: AuditResult) -> ReportDiff:
    old_by = {f.key: f for f in old.findings}
    new_by = {f.key: f for f in new.findings}
    ran = {c.id for c in new.checks}
    errored = {(f.check_id, f.region) for f in new.findings if f.status is Status.ERROR}

    def cleanly_gone(f: Finding) -> bool:
        # Absent from the new scan only counts as fixed when its check ran without errors in that scope.
        return (f.check_id in ran and (f.check_id, f.region) not in errored
                and (f.check_id, GLOBAL) not in errored)

    new_failures, persisting, fixed, new_gaps = [], [], [], []
    for key, f in new_by.items():
        before = old_by.get(key)
        was = before.status if before else None
        if f.status is Status.FAIL:
            (persisting if was is Status.FAIL else new_failures).append(f)
        elif f.status is Status.ERROR and was is not Status.ERROR:
            new_gaps.append(f)
    for key, f in old_by.items():
        if f.status is not Status.FAIL:
            continue
        now = new_by.get(key)
        if (now is not None and now.status is Status.PASS) or (now is None and cleanly_gone(f)):
            fixed.append(f)
    return ReportDiff(account_id=new.identity.account_id, old_scan=old.finished_at, new_scan=new.finished_at,
                      new_failures=_ordered(new_failures), fixed=_ordered(fixed),
                      persisting=_ordered(persisting), new_gaps=_ordered(new_gaps))


def _ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.check_id, f.region, f.resource.arn, f.subkey))


def render_diff_text(d: ReportDiff) -> str:
    lines = [f"account {d.account_id}: scan of {d.new_scan:%Y-%m-%d %H:%M} UTC "
             f"compared with {d.old_scan:%Y-%m-%d %H:%M} UTC",
             f"{len(d.new_failures)} new, {len(d.fixed)} fixed, {len(d.persisting)} persisting failures; "
             f"{len(d.new_gaps)} new gaps"]
    sections = [("New failures", d.new_failures), ("Fixed", d.fixed), ("Persisting failures", d.persisting)]
    for title, items in sections:
        if items:
            lines += ["", f"{title} ({len(items)}):"]
            lines += [f"  {_line(f)}" for f in items]
    if d.new_gaps:
        lines += ["", f"New gaps, not assessed ({len(d.new_gaps)}):"]
        for f in d.new_gaps:
            need = f" (needs {f.gap.iam_action})" if f.gap else ""
            lines.append(f"  {f.check_id}  {f.region}  {_oneline(f.message)}{need}")
    return "\n".join(lines) + "\n"


def _line(f: Finding) -> str:
    sub = f" [{f.subkey}]" if f.subkey else ""
    return (f"{f.severity.value.upper():<8} {f.check_id}  {f.region}  {_oneline(f.resource.arn)}{_oneline(sub)}  "
            f"{_oneline(f.message)}")


def _oneline(text: str) -> str:
    # Names come from the account: no control characters reach a terminal or a cron mail.
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= 200 else text[:199] + "…"
