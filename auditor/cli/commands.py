"""Subcommands: scan, demo, list-checks, policy, schema, diff, merge."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from auditor import __version__
from auditor.cli import display
from auditor.config import AuditConfig, ConfigError, load_config
from auditor.diff import load_report
from auditor.models import Severity
from auditor.scan import EXIT_OK, EXIT_USAGE, ScanOptions, exit_code, least_privilege_policy, run_scan, write_reports

if TYPE_CHECKING:
    from auditor.merge import AccountEntry, OrgResult


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _formats(value: str) -> list[str]:
    from reports import renderers

    names = _csv(value)
    known = renderers()
    bad = [n for n in names if n not in known]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown format {', '.join(bad)} (choose from {', '.join(known)})")
    return names


def _add_output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", type=_formats, default=["json"], help="comma list: json, sarif, html")
    p.add_argument("--output-dir", type=Path, default=Path("auditor-report"), help="where reports are written")
    p.add_argument("--checks", type=_csv, default=[], help="ids, globs, services or frameworks (cis-v7, ssb:ACCT.02)")
    p.add_argument("--skip-checks", type=_csv, default=[], help="same forms as --checks")
    p.add_argument("--config", type=Path, help="TOML file with thresholds (see examples/auditor.toml)")
    p.add_argument("--fail-on", type=Severity, default=Severity.LOW, choices=list(Severity),
                   metavar="SEVERITY", help="lowest severity of a FAIL that makes the exit code 1 (default low)")
    p.add_argument("--quiet", action="store_true", help="no progress or summary; errors still go to stderr")
    p.add_argument("--waivers", type=Path, help="TOML file of accepted FAILs (owner, reason, expiry)")
    p.add_argument("--attestations", type=Path, help="TOML file of signed answers for manual checklist items")
    p.add_argument("--baseline", type=Path, help="previous report.json to compare against")
    p.add_argument("--fail-on-new", action="store_true", help="with --baseline: exit 1 only for new failures")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: cron mails and CI logs stay readable.
        self.exit(EXIT_USAGE, f"auditor: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="auditor", description="Read-only AWS security posture auditor.")
    parser.add_argument("--version", action="version", version=f"auditor {__version__}")
    parser.add_argument("--debug", action="store_true", help="verbose logs and tracebacks")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    scan = sub.add_parser("scan", help="scan an AWS account (read-only)")
    scan.add_argument("--profile", help="AWS profile (shared config/credentials, SSO profiles)")
    scan.add_argument("--role-arn", help="assume this role first (read-only role in the target account)")
    scan.add_argument("--external-id", help="ExternalId for --role-arn and --member-role")
    scan.add_argument("--session-name", default="auditor", help="role session name (shows in CloudTrail)")
    scan.add_argument("--region", help="home region for global APIs (default from profile, else us-east-1)")
    scan.add_argument("--regions", type=_csv, help="regions to scan (default: every enabled region)")
    scan.add_argument("--workers", type=int, help="concurrent API units (default 16)")
    scan.add_argument("--save-inventory", type=Path, help="also write the collected snapshot here")
    scan.add_argument("--from-inventory", type=Path, help="evaluate a saved snapshot offline (no AWS calls)")
    _add_org_args(scan)
    _add_output_args(scan)

    demo = sub.add_parser("demo", help="scan a built-in simulated startup account (no AWS needed)")
    _add_output_args(demo)

    lst = sub.add_parser("list-checks", help="list checks with their checklist metadata")
    lst.add_argument("--service", help="e.g. iam, s3, vpc")
    lst.add_argument("--severity", type=Severity, choices=list(Severity), metavar="SEVERITY")
    lst.add_argument("--framework", help="cis-v7, ssb, source, or a tag such as cis-v7:2.5, ssb:ACCT.02")
    lst.add_argument("--all", action="store_true", help="include catalog items not yet automated, and manual ones")
    lst.add_argument("--json", action="store_true", help="machine-readable output")

    pol = sub.add_parser("policy", help="print the least-privilege read-only IAM policy the scan needs")
    pol.add_argument("--checks", type=_csv, default=[], help="only what these checks need")
    pol.add_argument("--member-role", help="for the account running --organization scans: may assume this role")

    sub.add_parser("schema", help="print the JSON Schema of the JSON report")

    diff = sub.add_parser("diff", help="compare two JSON reports: new, fixed and persisting failures, new gaps")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.add_argument("--fail-on-new", action="store_true", help="exit 1 when there is a new failure")

    merge = sub.add_parser("merge", help="combine the shard reports of an organization scan into one report")
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json",
                       help="org-report.json of each shard (or accounts' report.json)")
    merge.add_argument("--allow-partial", action="store_true", help="merge even when shards or accounts are missing")
    merge.add_argument("--format", type=_formats, default=["json"], help="comma list: json, sarif, html")
    merge.add_argument("--output-dir", type=Path, default=Path("auditor-report"), help="where reports are written")
    merge.add_argument("--fail-on", type=Severity, default=Severity.LOW, choices=list(Severity), metavar="SEVERITY",
                       help="lowest severity of a FAIL that makes the exit code 1 (default low)")
    merge.add_argument("--quiet", action="store_true", help="no summary")
    return parser


def _add_org_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("organization scan (from the management or a delegated-admin account)")
    g.add_argument("--organization", action="store_true", help="scan every active account of the organization")
    g.add_argument("--member-role", metavar="NAME",
                   help="role name (or path/name) to assume in each account; --external-id applies")
    g.add_argument("--accounts", type=_csv, default=[], metavar="LIST",
                   help="only these: account ids, OU ids, OU paths (/Prod/Web, globs), tag:Key[=Value]")
    g.add_argument("--exclude-accounts", type=_csv, default=[], metavar="LIST", help="same forms as --accounts")
    g.add_argument("--shard", metavar="I/N", help="scan only part I of N (deterministic, balanced); then `merge`")
    g.add_argument("--scan-id", metavar="ID", help="one id for every shard of a scan (e.g. the CI run id)")
    g.add_argument("--accounts-in-flight", type=int, default=4, metavar="N", help="accounts at once (default 4)")


def cmd_scan(args: argparse.Namespace) -> int:
    from auditor.session import AuditSession

    cfg = load_config(args.config)
    if args.workers:
        cfg = cfg.with_overrides(workers=args.workers)
    opts = _options(args)
    org_flags = [f for f, v in (("--member-role", args.member_role), ("--accounts", args.accounts),
                                ("--exclude-accounts", args.exclude_accounts), ("--shard", args.shard),
                                ("--scan-id", args.scan_id)) if v]
    if org_flags and not args.organization:
        raise ConfigError(f"{', '.join(org_flags)} need(s) --organization")
    if args.organization:
        return _run_org(args, opts, cfg)
    session = None
    if not args.from_inventory:
        session = AuditSession(profile=args.profile, role_arn=args.role_arn, external_id=args.external_id,
                               session_name=args.session_name, region=args.region, workers=cfg.workers,
                               max_attempts=cfg.max_attempts, retry_mode=cfg.retry_mode)
    return _run(session, opts, cfg, args.quiet)


def _options(args: argparse.Namespace) -> ScanOptions:
    return ScanOptions(regions=getattr(args, "regions", None), checks=args.checks, skip_checks=args.skip_checks,
                       formats=args.format, output_dir=args.output_dir, fail_on=args.fail_on,
                       save_inventory=getattr(args, "save_inventory", None),
                       from_inventory=getattr(args, "from_inventory", None), waivers=args.waivers,
                       attestations=args.attestations, baseline=args.baseline, fail_on_new=args.fail_on_new)


def _run(session: object, opts: ScanOptions, cfg: object, quiet: bool) -> int:
    with display.progress(quiet) as progress:
        result, _ = run_scan(session, opts, cfg, progress)  # type: ignore[arg-type]
    written = write_reports(result, opts)
    if "sarif" in opts.formats:
        from reports.sarif import incomplete_scopes

        held = incomplete_scopes(result)
        if held:  # on stderr even with --quiet: a CI job must see why a category was not uploaded
            display.warn(f"SARIF leaves out incomplete scope(s) {', '.join(held)} so GitHub keeps their alerts open")
    if not quiet:
        display.summary(result, written)
    baseline = load_report(opts.baseline) if opts.fail_on_new and opts.baseline else None
    return exit_code(result, opts.fail_on, baseline)


def _run_org(args: argparse.Namespace, opts: ScanOptions, cfg: AuditConfig) -> int:
    from auditor.merge import account_line, org_exit_code, parse_shard, write_org_reports
    from auditor.organization import OrgOptions, scan_organization
    from auditor.session import AuditSession

    if not args.member_role:
        raise ConfigError("--organization needs --member-role NAME (the read-only role in every account)")
    if args.accounts_in_flight < 1:
        raise ConfigError("--accounts-in-flight must be at least 1")
    org = OrgOptions(member_role=args.member_role, external_id=args.external_id, session_name=args.session_name,
                     accounts=args.accounts, exclude=args.exclude_accounts,
                     shard=parse_shard(args.shard) if args.shard else (1, 1), scan_id=args.scan_id,
                     in_flight=args.accounts_in_flight)
    session = AuditSession(profile=args.profile, role_arn=args.role_arn, external_id=args.external_id,
                           session_name=args.session_name, region=args.region, workers=cfg.workers,
                           max_attempts=cfg.max_attempts, retry_mode=cfg.retry_mode)

    def progress(entry: AccountEntry, done: int, total: int) -> None:
        line = account_line(entry, done, total)
        if entry.result is None:
            display.warn(line)  # on stderr even with --quiet: an account was not scanned
        elif not args.quiet:
            display.note(line)

    result = scan_organization(session, opts, org, cfg, progress)
    written = write_org_reports(result, opts)
    if not args.quiet:
        _org_summary(result, written)
    return org_exit_code(result, opts.fail_on)


def cmd_merge(args: argparse.Namespace) -> int:
    from auditor.merge import load_org_report, merge_reports, org_exit_code, write_org_reports

    merged = merge_reports([(p, load_org_report(p)) for p in args.reports], allow_partial=args.allow_partial)
    opts = ScanOptions(formats=args.format, output_dir=args.output_dir, fail_on=args.fail_on)
    written = write_org_reports(merged, opts)
    if not args.quiet:
        _org_summary(merged, written)  # names the warnings too
    for w in merged.warnings if args.quiet else []:
        display.warn(w)
    return org_exit_code(merged, args.fail_on)


def _org_summary(org: OrgResult, written: list[Path]) -> None:
    from auditor.merge import summary_lines

    for line in summary_lines(org):
        display.note(line)
    display.note(f"wrote {len(written)} file(s) under {written[-1].parent}" if written else "wrote nothing")


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from auditor.demo.run import demo_session
    except ImportError as exc:
        raise ConfigError(f"the demo needs moto: pip install 'aws-posture-auditor[demo]' ({exc.name} missing)") \
            from None
    cfg = load_config(args.config)
    opts = _options(args)
    with demo_session() as (session, regions, notes):
        opts.regions = regions
        code = _run(session, opts, cfg, args.quiet)
    if not args.quiet:
        display.note(f"demo account: {len(notes)} planted situations; a real scan would exit {code}.")
    return EXIT_OK


def cmd_list_checks(args: argparse.Namespace) -> int:
    from auditor.cli.listing import list_checks

    rows = list_checks(service=args.service, severity=args.severity, framework=args.framework,
                       include_all=args.all)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        display.check_table(rows)
    return EXIT_OK


def cmd_policy(args: argparse.Namespace) -> int:
    from auditor.scan import chosen_checks

    specs = chosen_checks(ScanOptions(checks=args.checks)) if args.checks else None
    print(json.dumps(least_privilege_policy(specs, member_role=args.member_role), indent=2))
    return EXIT_OK


def cmd_schema(_: argparse.Namespace) -> int:
    from reports.json_report import json_schema

    sys.stdout.write(json_schema())
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from auditor.diff import diff_results, render_diff_text

    d = diff_results(load_report(args.old), load_report(args.new))
    sys.stdout.write(d.model_dump_json(indent=2) + "\n" if args.json else render_diff_text(d))
    return 1 if args.fail_on_new and d.new_failures else EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "scan": cmd_scan, "demo": cmd_demo, "list-checks": cmd_list_checks, "policy": cmd_policy, "schema": cmd_schema,
    "diff": cmd_diff, "merge": cmd_merge,
}

