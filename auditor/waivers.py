"""Waivers: an owner accepts a known FAIL until a date. A waived FAIL becomes WAIVED (never PASS) in every format."""
from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from auditor.config import ConfigError
from auditor.models import AuditResult, Finding, Status
from auditor.runner import summarize
from auditor.tomlfile import load_entries


class Waiver(BaseModel):
    """One `[[waiver]]` table. Patterns are shell globs (`*`, `?`, `[...]`), matched case-sensitively."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str = Field(min_length=1, description="check id or glob, e.g. 'kms.cmk-rotation' or 's3.*'")
    resource: str = Field(min_length=1, description="glob on the resource ARN or id; '*' for every resource")
    owner: str = Field(min_length=1, description="who accepted the risk")
    reason: str = Field(min_length=1, description="why the risk is accepted")
    expires: date = Field(description="last day the waiver applies (inclusive)")
    account: str | None = Field(None, pattern=r"^[0-9]{12}$")
    region: str | None = Field(None, min_length=1, description="region or glob; 'global' for account-wide")

    def matches(self, f: Finding) -> bool:
        return (fnmatch.fnmatchcase(f.check_id, self.check)
                and (fnmatch.fnmatchcase(f.resource.arn, self.resource)
                     or fnmatch.fnmatchcase(f.resource.id, self.resource))
                and (self.account is None or f.account_id == self.account)
                and (self.region is None or fnmatch.fnmatchcase(f.region, self.region)))

    def expired(self, today: date) -> bool:
        return today > self.expires

    def label(self, index: int) -> str:
        return f"waiver {index} for {self.check} on {self.resource}"


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and validate a waivers TOML file; any problem is a ConfigError naming the entry and field."""
    waivers = load_entries(path, what="waivers", table="waiver", model=Waiver)
    for n, waiver in enumerate(waivers, start=1):
        if not _known_check(waiver.check):
            raise ConfigError(f"waivers file {path}: waiver {n}: check: {waiver.check!r} matches no known check")
    return waivers


def _known_check(pattern: str) -> bool:
    from auditor.catalog import catalog

    return any(fnmatch.fnmatchcase(cid, pattern) for cid in catalog())


def apply_waivers(result: AuditResult, waivers: list[Waiver], today: date) -> AuditResult:
    """FAILs matched by a live waiver (first in file order wins) become WAIVED; expired ones are reported."""
    live = [(n, w) for n, w in enumerate(waivers, start=1) if not w.expired(today)]
    expired = [(n, w) for n, w in enumerate(waivers, start=1) if w.expired(today)]
    findings = []
    for f in result.findings:
        hit = next(((n, w) for n, w in live if w.matches(f)), None) if f.status is Status.FAIL else None
        if hit:
            n, w = hit
            f = f.model_copy(update={"status": Status.WAIVED, "waiver": {
                "owner": w.owner, "reason": w.reason, "expires": w.expires.isoformat(),
                "matched_by": f"waiver {n} (check {w.check}, resource {w.resource})"}})
        findings.append(f)
    warnings = list(result.warnings)
    for n, w in expired:
        still = sum(1 for f in findings if f.status is Status.FAIL and w.matches(f))
        tail = f"; {still} failing finding{'s' if still != 1 else ''} no longer waived" if still else ""
        warnings.append(f"{w.label(n)} expired on {w.expires.isoformat()} (owner {w.owner}){tail}")
    summary = summarize(findings, result.summary.checks_run, result.gaps)
    return result.model_copy(update={"findings": findings, "warnings": warnings, "summary": summary})
