"""Organization reports: the OrgResult model, shard assignment, `auditor merge` of shard reports, and writing them.

An OrgResult wraps one AuditResult per scanned account (unchanged, so every single-account renderer still works on
it) plus an entry with the reason for each account that could not be scanned. Every report of an organization scan
carries its OrgScan (scan id, shard i/N, the whole scan's account list); merge uses it to refuse reports of
different scans, or a set of reports that leaves accounts (shards) out unless told to.

Sharding: the selected account ids are sorted and dealt round-robin, account k (0-based) to shard k % N + 1. Shard
sizes differ by at most one, and the assignment depends only on the selection, which every report records: if the
organization changed between the start of two shards, their lists differ and merge refuses instead of silently
covering an account twice or never. (A stable hash would survive such changes but balance worse, and would still
miss an account created mid-run.) Balance is by account count, not by account size.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from auditor import SCHEMA_VERSION, __version__
from auditor.atomic import write_atomic
from auditor.config import ConfigError
from auditor.models import AuditResult, Frozen, Identity, Severity, Status
from auditor.scan import EXIT_FAILURES, EXIT_INCOMPLETE, EXIT_OK, ScanOptions, write_reports


class AccountEntry(Frozen):
    account_id: str
    name: str = ""
    ou_path: str = ""  # "/" is the root, "/Prod/Web" an OU under it
    shard: int = 1
    error: str = ""  # why the account could not be scanned (an account-level ERROR); empty when scanned
    result: AuditResult | None = None


class OrgResult(Frozen):
    kind: Literal["organization"] = "organization"
    tool: str = "auditor"
    tool_version: str = __version__
    schema_version: str = SCHEMA_VERSION
    scan_id: str
    organization_id: str = ""
    management_account_id: str = ""
    caller: Identity | None = None  # the organization view: listed the accounts, ran the organization-level checks
    shard_count: int = 1
    shards: list[int]  # shards whose every account is in this report
    selected: list[str]  # every account the whole scan selected (all shards), sorted
    missing: list[str] = []  # selected accounts that no merged report covered (only with --allow-partial)
    started_at: datetime
    finished_at: datetime
    accounts: list[AccountEntry]
    warnings: list[str] = []

    @property
    def complete(self) -> bool:
        return not self.missing and all(e.result is not None and e.result.summary.complete for e in self.accounts)

    def results(self) -> list[AuditResult]:
        return [e.result for e in self.accounts if e.result is not None]


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' with 1 <= I <= N (1-based, like Jest and Playwright; a Kubernetes Indexed Job passes index + 1)."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r} is not I/N (e.g. 1/4)") from None
    if not 1 <= i <= n:
        raise ConfigError(f"--shard {text!r}: I must be between 1 and N")
    return i, n


def shard_of(account_id: str, selected: list[str], count: int) -> int:
    return sorted(selected).index(account_id) % count + 1


def shard_accounts(selected: list[str], shard: int, count: int) -> list[str]:
    return sorted(selected)[shard - 1::count]


def load_org_report(path: Path) -> OrgResult:
    """A shard's (or a merged) org-report.json, or one account's report.json from an organization scan."""
    try:
        raw = path.read_bytes()
        doc = json.loads(raw)
    except OSError as exc:
        raise ConfigError(f"cannot read report {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ConfigError(f"{path} is not JSON") from None
    try:
        if isinstance(doc, dict) and doc.get("kind") == "organization":
            return OrgResult.model_validate_json(raw)
        result = AuditResult.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise ConfigError(f"{path} is not an auditor report: {loc}: {first['msg']}") from None
    scan = result.org_scan
    if scan is None:
        raise ConfigError(f"{path} is a single-account report, not part of an organization scan")
    acct = result.identity.account_id
    return OrgResult(scan_id=scan.scan_id, organization_id=scan.organization_id,
                     management_account_id=scan.management_account_id, shard_count=scan.shard_count, shards=[],
                     selected=scan.accounts, started_at=result.started_at, finished_at=result.finished_at,
                     accounts=[AccountEntry(account_id=acct, shard=scan.shard, result=result)])


def merge_reports(reports: list[tuple[Path, OrgResult]], allow_partial: bool = False) -> OrgResult:
    if not reports:
        raise ConfigError("nothing to merge")
    (first_path, first), rest = reports[0], reports[1:]
    for path, other in rest:
        if other.scan_id != first.scan_id:
            raise ConfigError(f"reports come from different scans: {first_path} is scan {first.scan_id!r}, "
                              f"{path} is scan {other.scan_id!r}")
        if (other.organization_id, other.shard_count, other.selected) != \
                (first.organization_id, first.shard_count, first.selected):
            raise ConfigError(f"{first_path} and {path} belong to scan {first.scan_id!r} but saw different "
                              "organizations, shard counts or account lists (did the organization change between "
                              "shards?); run the scan again")
    chosen: dict[str, AccountEntry] = {}
    warnings: list[str] = []
    for _, org in reports:
        warnings.extend(w for w in org.warnings if w not in warnings)
        for entry in org.accounts:
            if entry.account_id not in first.selected:
                raise ConfigError(f"account {entry.account_id} is not in the account list of scan {first.scan_id!r}")
            if entry.shard != shard_of(entry.account_id, first.selected, first.shard_count):
                raise ConfigError(f"account {entry.account_id} is reported as shard {entry.shard}, but shard "
                                  f"{shard_of(entry.account_id, first.selected, first.shard_count)} scans it")
            old = chosen.get(entry.account_id)
            if old is not None and old.result is not None and entry.result is not None and old.result != entry.result:
                warnings.append(f"account {entry.account_id} is in several reports; kept the latest scan")
            chosen[entry.account_id] = _fill(entry, old) if old is None or _better(entry, old) else _fill(old, entry)
    missing = [a for a in first.selected if a not in chosen]
    if missing and not allow_partial:
        shards = sorted({shard_of(a, first.selected, first.shard_count) for a in missing})
        raise ConfigError(f"missing shard(s) {', '.join(f'{s}/{first.shard_count}' for s in shards)}: "
                          f"{len(missing)} account(s) not covered ({', '.join(missing[:5])}"
                          f"{', ...' if len(missing) > 5 else ''}); pass every shard's report or --allow-partial")
    short = {shard_of(a, first.selected, first.shard_count) for a in missing}
    return OrgResult(scan_id=first.scan_id, organization_id=first.organization_id,
                     management_account_id=first.management_account_id,
                     caller=next((o.caller for _, o in reports if o.caller), None), shard_count=first.shard_count,
                     shards=[s for s in range(1, first.shard_count + 1) if s not in short],
                     selected=first.selected, missing=missing,
                     started_at=min(o.started_at for _, o in reports),
                     finished_at=max(o.finished_at for _, o in reports),
                     accounts=[chosen[a] for a in sorted(chosen)], warnings=warnings)


def _better(new: AccountEntry, old: AccountEntry) -> bool:
    """A scanned account beats an unscannable one; of two scans, the later (a retry of that account) wins."""
    if (new.result is None) != (old.result is None):
        return new.result is not None
    if new.result is None or old.result is None:
        return False
    return new.result.finished_at > old.result.finished_at


def _fill(entry: AccountEntry, old: AccountEntry | None) -> AccountEntry:
    # A per-account report.json has no name or OU path; keep them from the shard report that had them.
    if old is None:
        return entry
    return entry.model_copy(update={"name": entry.name or old.name, "ou_path": entry.ou_path or old.ou_path})


def failing(org: OrgResult, rank: int) -> bool:
    return any(f.status is Status.FAIL and f.severity.rank >= rank for r in org.results() for f in r.findings)


ORG_STEM = "org-report"


def write_org_reports(org: OrgResult, opts: ScanOptions) -> list[Path]:
    """accounts/<id>/report.<fmt> for every scanned account, org-report.json always (merge reads it), and
    org-report.html with html. SARIF stays per account: one upload per account, as GitHub's limits want."""
    written: list[Path] = []
    scanned = {e.account_id for e in org.accounts if e.result is not None}
    for e in org.accounts:
        if e.result is not None:
            written += write_reports(e.result, replace(opts, output_dir=opts.output_dir / "accounts" / e.account_id))
    # An account scanned last time but not now must not keep yesterday's reports where a CI job uploads them.
    for old in (opts.output_dir / "accounts").glob("*/report*"):
        if old.parent.name not in scanned and re.fullmatch(r"report(-\d+)?\.(json|sarif|html)", old.name):
            old.unlink()
    written.append(write_atomic(opts.output_dir / f"{ORG_STEM}.json", org.model_dump_json()))
    if "html" in opts.formats:
        from reports.org_html import OrgHtmlRenderer

        written.append(write_atomic(opts.output_dir / f"{ORG_STEM}.html", OrgHtmlRenderer().render(org)))
    return written


def org_exit_code(org: OrgResult, fail_on: Severity) -> int:
    """1 when any account fails at or above fail_on; else 3 when an account, a shard or a read is missing; else 0."""
    if failing(org, fail_on.rank):
        return EXIT_FAILURES
    return EXIT_OK if org.complete else EXIT_INCOMPLETE


def account_line(entry: AccountEntry, done: int, total: int) -> str:
    who = f"account {entry.account_id}" + (f" ({entry.name})" if entry.name else "")
    r = entry.result
    if r is None:
        return f"[{done}/{total}] {who} not scanned: {entry.error}"
    s = r.summary
    score = "n/a" if s.score is None else f"{s.score:.1f}%"
    tail = "" if s.complete else f", {s.by_status.get('ERROR', 0)} not assessed"
    return f"[{done}/{total}] {who}: score {score}, {s.by_status.get('FAIL', 0)} failing{tail}"


def summary_lines(org: OrgResult) -> list[str]:
    scanned = org.results()
    passed = sum(r.summary.by_status.get("PASS", 0) for r in scanned)
    failed = sum(r.summary.by_status.get("FAIL", 0) for r in scanned)
    score = f"{100.0 * passed / (passed + failed):.1f}%" if passed + failed else "n/a"
    shards = "all shards" if len(org.shards) == org.shard_count else \
        f"shard(s) {', '.join(f'{s}/{org.shard_count}' for s in org.shards) or 'none'}"
    lines = [f"Organization {org.organization_id or '?'} · scan {org.scan_id} · {shards}",
             f"{len(scanned)} account(s) scanned, {len(org.accounts) - len(scanned)} not scanned, "
             f"{len(org.missing)} missing · {failed} failing findings · score {score}"]
    lines += [f"  not scanned: {e.account_id}: {e.error}" for e in org.accounts if e.result is None]
    if org.missing:
        lines.append(f"  missing (no report merged): {', '.join(org.missing)}")
    lines += [f"  note: {w}" for w in org.warnings]
    return lines
