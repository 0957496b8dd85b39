"""`auditor scan --organization`: every active account of an AWS Organization, one report each plus an org report.

Run from the management account or a delegated administrator. The account list comes from the organizations
collector's own tree reader (ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent); tags are read only
when a tag filter asks for them (organizations:ListTagsForResource). Each selected account of this shard is scanned
through the member role (sts:AssumeRole from the scan identity's credentials), a bounded number of accounts at a
time; an account whose role cannot be assumed becomes an entry with the reason and the others carry on.

Organization-level checks (org.*: SCPs, tag policies, OU structure, delegated administrators) read the organization
from its own view, so they run once, in the scan of the account the organization scan runs from; member accounts'
scans skip them (from a member they could only say "run from the management account").
"""
from __future__ import annotations

import fnmatch
import logging
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from botocore.exceptions import BotoCoreError, ClientError

from auditor.collectors import COLLECTORS, NOT_FOUND, CollectContext, load_collectors
from auditor.collectors import organizations as orgc
from auditor.config import AuditConfig, ConfigError
from auditor.errors import CredentialError
from auditor.gcfreeze import freeze_survivors
from auditor.merge import AccountEntry, OrgResult, shard_accounts
from auditor.models import GLOBAL, OrgScan
from auditor.runner import select_checks
from auditor.scan import ScanOptions, chosen_checks, load_inputs, resolve_regions, run_scan
from auditor.session import AuditSession

LOG = logging.getLogger(__name__)

ORG_LEVEL = ("org.*",)  # evaluated once, in the scan of the account the organization scan runs from
# API units in flight across all accounts (accounts in flight x per-account workers); each unit may hold a detail
# thread too, so the process stays near 2 x this many threads however many accounts run at once.
MAX_UNITS = 128
ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass
class OrgOptions:
    member_role: str
    external_id: str | None = None
    session_name: str = "auditor"
    accounts: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    shard: tuple[int, int] = (1, 1)
    scan_id: str | None = None
    in_flight: int = 4


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    ou_path: str  # "/" for the root, "/Prod/Web" for an OU under it
    ancestors: tuple[str, ...]  # root and OU ids above the account, root first
    tags: dict[str, str] | None = None  # None: not read (no tag filter)

    @property
    def paths(self) -> list[str]:
        """The OU path of the account and of every OU above it: '/', '/Prod', '/Prod/Web'."""
        parts = [p for p in self.ou_path.split("/") if p]
        return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


@dataclass(frozen=True)
class Listing:
    organization_id: str
    management_account_id: str
    members: list[Member]  # active accounts, sorted by id


def list_members(session: AuditSession) -> Listing:
    """Active accounts with their OU paths, read with the organizations collector's tree reader."""
    load_collectors()
    ident = session.identity()
    with ThreadPoolExecutor(8, thread_name_prefix="org-tree") as pool:
        ctx = CollectContext(session, COLLECTORS.get("organizations"), GLOBAL, ident.account_id, ident.partition, pool)
        client = ctx.client()
        resp = ctx.call(orgc.ORG, client, "describe_organization", absent=orgc._NOT_IN_USE)
        if resp is NOT_FOUND:
            raise ConfigError(f"account {ident.account_id} is not in an AWS Organization")
        roots, units, accounts = orgc._tree(orgc._Reader(ctx, client, management=True)) if resp else ([], [], [])
    if ctx.gaps:
        g = ctx.gaps[0]
        raise CredentialError(f"cannot list the organization's accounts: {g.operation} failed: {g.error_code} "
                              f"(needs {g.iam_action}; run from the management account or a delegated administrator)")
    names = {r.id: "" for r in roots} | {u.id: u.name for u in units}
    parent = {u.id: u.parent_id for u in units}

    def chain(pid: str) -> list[str]:
        ids = [pid]
        while ids[-1] in parent:
            ids.append(parent[ids[-1]])
        return ids[::-1]

    members = []
    for a in accounts:
        if a.status != "ACTIVE":
            continue
        ids = chain(a.parent_id)
        members.append(Member(id=a.id, name=a.name, ancestors=tuple(ids),
                              ou_path="/" + "/".join(names.get(i, i) for i in ids[1:])))
    org = resp["Organization"]
    return Listing(org["Id"], org.get("MasterAccountId", ""), sorted(members, key=lambda m: m.id))


def _kind(pattern: str) -> str:
    if pattern.startswith("tag:") and len(pattern) > 4:
        return "tag"
    if pattern.startswith("/"):
        return "path"
    if re.match(r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$", pattern):
        return "ou"
    if ACCOUNT_ID.match(pattern):
        return "account"
    raise ConfigError(f"account filter {pattern!r} is not an account id, an OU id (ou-..., r-...), an OU path "
                      "(/Prod/Web, globs allowed) or tag:Key[=Value]")


def matches(m: Member, pattern: str) -> bool:
    kind = _kind(pattern)
    if kind == "tag":
        key, sep, value = pattern[4:].partition("=")
        return m.tags is not None and key in m.tags and (not sep or fnmatch.fnmatchcase(m.tags[key], value))
    if kind == "path":
        want = pattern.rstrip("/") or "/"
        return any(fnmatch.fnmatchcase(p, want) for p in m.paths)
    if kind == "ou":
        return pattern in m.ancestors
    return m.id == pattern


def select_members(session: AuditSession, members: list[Member], include: list[str],
                   exclude: list[str]) -> list[Member]:
    for p in (*include, *exclude):
        _kind(p)  # reject a malformed filter before any tag is read
    if any(_kind(p) == "tag" for p in (*include, *exclude)):
        members = _with_tags(session, members)
    unmatched = [p for p in include if not any(matches(m, p) for m in members)]
    if unmatched:
        raise ConfigError(f"--accounts {', '.join(unmatched)} matches no active account of the organization")
    chosen = [m for m in members if (not include or any(matches(m, p) for p in include))
              and not any(matches(m, p) for p in exclude)]
    if not chosen:
        raise ConfigError("no account selected: --accounts / --exclude-accounts leave nothing to scan")
    return chosen


def _with_tags(session: AuditSession, members: list[Member]) -> list[Member]:
    client = session.client("organizations")

    def tags(m: Member) -> Member:
        out: dict[str, str] = {}
        token: str | None = None
        while True:
            try:
                resp = client.list_tags_for_resource(ResourceId=m.id, **({"NextToken": token} if token else {}))
            except (ClientError, BotoCoreError) as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                raise CredentialError(f"cannot read the tags of account {m.id} for a tag filter: {code} "
                                      "(needs organizations:ListTagsForResource)") from None
            out.update({t["Key"]: t["Value"] for t in resp.get("Tags", [])})
            token = resp.get("NextToken")
            if not token:
                return replace(m, tags=out)

    with ThreadPoolExecutor(8, thread_name_prefix="org-tags") as pool:
        return list(pool.map(tags, members))


def account_workers(workers: int, in_flight: int) -> int:
    """Per-account API units: the --workers setting, shrunk so all accounts together stay under MAX_UNITS."""
    return max(2, min(workers, MAX_UNITS // max(1, in_flight)))


def role_arn(partition: str, account_id: str, role: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role.strip('/')}"


def member_session(mgmt: AuditSession, account_id: str, org: OrgOptions, cfg: AuditConfig) -> AuditSession:
    """The member role, assumed from the scan identity's credentials; raises CredentialError when refused."""
    arn = role_arn(mgmt.identity().partition, account_id, org.member_role)
    session = AuditSession(boto_session=mgmt.boto, role_arn=arn, external_id=org.external_id,
                           session_name=org.session_name, region=mgmt.home_region, workers=cfg.workers,
                           max_attempts=cfg.max_attempts, retry_mode=cfg.retry_mode)
    # Share the parsed service models: a fresh botocore session per account would parse them all again.
    session.boto._session.register_component("data_loader", mgmt.boto._session.get_component("data_loader"))
    try:
        session.boto.get_credentials().get_frozen_credentials()  # assume now, so a refusal names the role
    except (ClientError, BotoCoreError) as exc:
        err = getattr(exc, "response", {}).get("Error", {})
        reason = f"{err.get('Code')}: {err.get('Message')}" if err else str(exc)
        raise CredentialError(f"cannot assume {arn}: {reason}") from None
    return session


OnAccount = Callable[[AccountEntry, int, int], None]  # (entry, accounts done, accounts in this shard)


def scan_organization(mgmt: AuditSession, opts: ScanOptions, org: OrgOptions, cfg: AuditConfig,
                      on_account: OnAccount | None = None) -> OrgResult:
    if opts.from_inventory or opts.save_inventory or opts.baseline:
        raise ConfigError("--organization cannot be combined with --from-inventory, --save-inventory or --baseline")
    shard, count = org.shard
    if count > 1 and not org.scan_id:
        raise ConfigError("--shard needs --scan-id, the same for every shard (e.g. the CI run id)")
    specs = chosen_checks(opts)  # loads every check here, before threads, and rejects a bad selection
    member_opts = replace(opts, skip_checks=[*opts.skip_checks, *ORG_LEVEL])
    if not select_checks(member_opts.checks, member_opts.skip_checks):
        raise ConfigError("only organization-level checks are selected: scan the management account alone")
    load_inputs(opts)
    caller = mgmt.identity()
    if opts.regions:
        opts = replace(opts, regions=resolve_regions(mgmt, opts.regions))
        member_opts = replace(member_opts, regions=opts.regions)
    started = datetime.now(timezone.utc)
    listing = list_members(mgmt)
    members = select_members(mgmt, listing.members, org.accounts, org.exclude)
    selected = [m.id for m in members]
    mine = set(shard_accounts(selected, shard, count))
    todo = [m for m in members if m.id in mine]
    ref = OrgScan(scan_id=org.scan_id or f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}",
                  organization_id=listing.organization_id, management_account_id=listing.management_account_id,
                  shard=shard, shard_count=count, accounts=selected)
    acfg = cfg.with_overrides(workers=account_workers(cfg.workers, org.in_flight))
    done: list[AccountEntry] = []

    def one(m: Member) -> AccountEntry:
        entry = AccountEntry(account_id=m.id, name=m.name, ou_path=m.ou_path, shard=shard)
        try:
            if m.id == caller.account_id:
                session = AuditSession(boto_session=mgmt.boto, region=mgmt.home_region, workers=acfg.workers,
                                       max_attempts=acfg.max_attempts, retry_mode=acfg.retry_mode)
                result, _ = run_scan(session, opts, acfg)
            else:
                result, _ = run_scan(member_session(mgmt, m.id, org, acfg), member_opts, acfg)
            entry = entry.model_copy(update={"result": result.model_copy(update={"org_scan": ref})})
        except CredentialError as exc:
            entry = entry.model_copy(update={"error": str(exc)})
        except Exception as exc:  # one account's crash must not stop the others
            LOG.exception("scan of account %s failed", m.id)
            entry = entry.model_copy(update={"error": f"scan failed: {type(exc).__name__}: {exc}"})
        with lock:  # progress lines in completion order, one at a time
            done.append(entry)
            if on_account:
                on_account(entry, len(done), len(todo))
        return entry

    lock = threading.Lock()
    freeze_survivors()  # now, before any account's clients exist (each run_scan's own call is then a no-op)
    pool = ThreadPoolExecutor(max(1, org.in_flight), thread_name_prefix="account")
    try:
        entries = list(pool.map(one, todo))
    except BaseException:  # Ctrl-C / SIGTERM: start no further account; the running ones finish their calls
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    warnings = []
    org_level = [s.id for s in specs if any(fnmatch.fnmatchcase(s.id, p) for p in ORG_LEVEL)]
    if org_level and caller.account_id not in selected:
        warnings.append(f"the organization-level checks (org.*) run in the scan of {caller.account_id}, the account "
                        "this scan ran from, which is not selected: they were not evaluated")
    return OrgResult(scan_id=ref.scan_id, organization_id=ref.organization_id,
                     management_account_id=ref.management_account_id, caller=caller, shard_count=count,
                     shards=[shard], selected=selected, started_at=started, finished_at=datetime.now(timezone.utc),
                     accounts=sorted(entries, key=lambda e: e.account_id), warnings=warnings)
