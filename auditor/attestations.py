"""Attestations: a person's signed answer for a checklist item no API can check (section 2 of the catalog).

A live attestation turns the item's MANUAL finding into PASS (answer yes) or FAIL (no / partial), carrying who,
when, the evidence link and the expiry into every report format. An expired one leaves the item MANUAL and says so.
"""
from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from auditor.catalog import catalog
from auditor.config import ConfigError
from auditor.models import AuditResult, Status
from auditor.runner import summarize
from auditor.tomlfile import load_entries


class Attestation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    item: str = Field(min_length=1, description="manual item id or glob (see `auditor list-checks --all`)")
    answer: Literal["yes", "no", "partial"]
    by: str = Field(min_length=1, description="who attests, e.g. 'Jane Doe <jane@example.com>'")
    date: date
    expires: date
    evidence: str = Field(min_length=1, description="link to the evidence (runbook, ticket, document)")
    note: str = ""

    @model_validator(mode="after")
    def _dates(self) -> Attestation:
        if self.expires < self.date:
            raise ValueError("expires is before date")
        return self


def load_attestations(path: str | Path) -> list[Attestation]:
    entries = load_entries(path, what="attestations", table="attestation", model=Attestation)
    manual = [i for i, item in catalog().items() if item.manual]
    for n, a in enumerate(entries, start=1):
        if not any(fnmatch.fnmatchcase(i, a.item) for i in manual):
            raise ConfigError(f"attestations file {path}: attestation {n}: item: {a.item!r} matches no manual item")
    return entries


def apply_attestations(result: AuditResult, attestations: list[Attestation], today: date) -> AuditResult:
    findings, warnings = [], list(result.warnings)
    for f in result.findings:
        if f.status is Status.MANUAL:
            hits = [a for a in attestations if fnmatch.fnmatchcase(f.check_id, a.item)]
            live = [a for a in hits if a.expires >= today]
            if live:
                a = live[0]
                f = f.model_copy(update={
                    "status": Status.PASS if a.answer == "yes" else Status.FAIL,
                    "message": f"attested '{a.answer}' by {a.by} on {a.date.isoformat()}" + (
                        f": {a.note}" if a.note else ""),
                    "attestation": {"answer": a.answer, "by": a.by, "date": a.date.isoformat(),
                                    "expires": a.expires.isoformat(), "evidence": a.evidence, "note": a.note}})
            elif hits:
                warnings.append(f"attestation for {f.check_id} by {hits[0].by} expired on "
                                f"{hits[0].expires.isoformat()}")
        findings.append(f)
    summary = summarize(findings, result.summary.checks_run, result.gaps)
    return result.model_copy(update={"findings": findings, "warnings": warnings, "summary": summary})
