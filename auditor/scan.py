"""One scan from start to reports, shared by `auditor scan` and `auditor demo` (no terminal code here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from auditor.atomic import write_atomic
from auditor.attestations import Attestation, apply_attestations, load_attestations
from auditor.collectors import DATASETS, load_collectors
from auditor.config import AuditConfig, ConfigError
from auditor.diff import diff_results, load_report
from auditor.gcfreeze import freeze_survivors
from auditor.inventory import Inventory
from auditor.models import AuditResult, Severity, Status
from auditor.registry import CheckSpec
from auditor.runner import Progress, build_result, collect, select_checks, unknown_patterns
from auditor.waivers import Waiver, apply_waivers, load_waivers

# Calls the session makes itself, outside any collector.
SESSION_ACTIONS = ("sts:GetCallerIdentity", "ec2:DescribeRegions")

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


@dataclass
class ScanOptions:
    regions: list[str] | None = None
    checks: list[str] = field(default_factory=list)
    skip_checks: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=lambda: ["json"])
    output_dir: Path = Path("auditor-report")
    fail_on: Severity = Severity.LOW
    save_inventory: Path | None = None
    from_inventory: Path | None = None
    include_manual: bool = True
    waivers: Path | None = None
    attestations: Path | None = None
    baseline: Path | None = None
    fail_on_new: bool = False


@dataclass
class Inputs:
    """Files a scan applies to its result, read and validated before any AWS call so bad input fails fast."""

    waivers: list[Waiver] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    baseline: AuditResult | None = None


def load_inputs(opts: ScanOptions) -> Inputs:
    if opts.fail_on_new and not opts.baseline:
        raise ConfigError("--fail-on-new needs --baseline OLD.json")
    return Inputs(waivers=load_waivers(opts.waivers) if opts.waivers else [],
                  attestations=load_attestations(opts.attestations) if opts.attestations else [],
                  baseline=load_report(opts.baseline) if opts.baseline else None)


def chosen_checks(opts: ScanOptions) -> list[CheckSpec]:
    bad = unknown_patterns(opts.checks + opts.skip_checks)
    if bad:
        raise ConfigError(f"no check matches {', '.join(repr(b) for b in bad)} (see `auditor list-checks`)")
    specs = select_checks(opts.checks, opts.skip_checks)
    if not specs:
        raise ConfigError("the check selection is empty")
    return specs


def resolve_regions(session: object, requested: list[str] | None) -> list[str]:
    if requested:
        known = set(session.known_regions())  # type: ignore[attr-defined]
        unknown = [r for r in requested if r not in known]
        if unknown:
            raise ConfigError(f"unknown region(s): {', '.join(unknown)}")
        return sorted(dict.fromkeys(requested))
    return session.enabled_regions()  # type: ignore[attr-defined]


def load_inventory(path: Path) -> Inventory:
    try:
        return Inventory.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read inventory {path}: {exc.strerror or exc}") from None
    except (ValidationError, ValueError) as exc:
        raise ConfigError(f"inventory {path} is not a valid snapshot: {str(exc).splitlines()[0]}") from None


def run_scan(session: object | None, opts: ScanOptions, cfg: AuditConfig,
             progress: Progress | None = None) -> tuple[AuditResult, Inventory]:
    specs = chosen_checks(opts)
    inputs = load_inputs(opts)
    started = datetime.now(timezone.utc)
    if opts.from_inventory:
        inv = load_inventory(opts.from_inventory)
        freeze_survivors()  # the snapshot lives until exit
    else:
        assert session is not None
        session.identity()  # type: ignore[attr-defined]  # fail fast on bad credentials
        regions = resolve_regions(session, opts.regions)
        freeze_survivors()  # what exists now lives until exit
        inv = collect(session, specs, regions, cfg, progress)
    if opts.save_inventory:
        write_atomic(opts.save_inventory, inv.model_dump_json(indent=1))
    result = build_result(inv, specs, cfg, started, include_manual=opts.include_manual)
    today = cfg.clock().date()
    if inputs.waivers:
        result = apply_waivers(result, inputs.waivers, today)
    if inputs.attestations:
        result = apply_attestations(result, inputs.attestations, today)
    return result, inv


def write_reports(result: AuditResult, opts: ScanOptions, stem: str = "report") -> list[Path]:
    from reports import renderers

    available = renderers()
    written = []
    for fmt in opts.formats:
        renderer = available[fmt]()
        files = renderer.render_files(result, stem)
        for name, text in files.items():
            written.append(write_atomic(opts.output_dir / name, text))
        # A report split differently last time (report-2.sarif) must not linger and be uploaded as current.
        for old in opts.output_dir.glob(f"{stem}*{renderer.suffix}"):
            if old.name not in files and old.name[len(stem):len(stem) + 1] in ("-", "."):
                old.unlink()
    return written


def exit_code(result: AuditResult, fail_on: Severity, baseline: AuditResult | None = None) -> int:
    failing = [f for f in result.findings if f.status is Status.FAIL and f.severity.rank >= fail_on.rank]
    if baseline is not None:  # --fail-on-new: only what was not failing last time counts
        new = {f.key for f in diff_results(baseline, result).new_failures}
        failing = [f for f in failing if f.key in new]
    if failing:
        return EXIT_FAILURES
    if not result.summary.complete:
        return EXIT_INCOMPLETE
    return EXIT_OK


def least_privilege_policy(specs: list[CheckSpec] | None = None, member_role: str | None = None) -> dict:
    """The read-only IAM policy covering every declared action (of the selected checks, or of all collectors).

    With `member_role`, also what the account running an organization scan needs: tag filters read account
    tags, and it assumes the member role in every account (and nothing else).
    """
    load_collectors()
    # A collector reads all its datasets (optional enrichments too), so the policy covers whole collectors.
    datasets = ({ds for s in specs for d in (*s.needs, *s.optional) for ds in DATASETS[d].datasets} if specs
                else set(DATASETS))
    actions = set(SESSION_ACTIONS)
    for ds in datasets:
        actions.update(DATASETS[ds].datasets[ds])
    statements = [{"Sid": "AuditorReadOnly", "Effect": "Allow", "Action": sorted(actions), "Resource": "*"}]
    if member_role:
        statements[0]["Action"] = sorted({*actions, "organizations:ListTagsForResource"})
        statements.append({"Sid": "AuditorAssumeMemberRole", "Effect": "Allow", "Action": "sts:AssumeRole",
                           "Resource": f"arn:*:iam::*:role/{member_role}"})
    return {"Version": "2012-10-17", "Statement": statements}
