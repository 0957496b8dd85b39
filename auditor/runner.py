"""Plan → collect (bounded pool over (collector, region)) → Inventory → evaluate → AuditResult."""
from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from typing import Any

from auditor import SCHEMA_VERSION, __version__
from auditor.catalog import catalog, framework_tags
from auditor.collectors import COLLECTORS, DATASETS, CollectContext, CollectorSpec, Section, load_collectors
from auditor.config import AuditConfig
from auditor.fairpool import FairPool
from auditor.inventory import Inventory
from auditor.models import GLOBAL, AuditResult, CheckInfo, Finding, Gap, ResourceRef, Severity, Status, Summary
from auditor.registry import CHECKS, CheckSpec, RegistryError

LOG = logging.getLogger(__name__)

Progress = Callable[[str, str, str], None]  # (collector, region, state)


def load_checks() -> list[CheckSpec]:
    """Import every check module and validate that each need is served by a collector."""
    import checks

    load_collectors()
    checks.load_all()
    for spec in CHECKS:
        missing = [d for d in (*spec.needs, *spec.optional) if d not in DATASETS]
        if missing:
            raise RegistryError(f"check {spec.id!r} needs {missing}, which no collector provides")
    for col in COLLECTORS:
        for up in col.after:
            if up not in COLLECTORS or (not col.regional and COLLECTORS.get(up).regional):
                raise RegistryError(f"collector {col.name!r}: after={up!r} is unknown or regional under a global one")
    return list(CHECKS)


def select_checks(include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[CheckSpec]:
    """Patterns match check ids (globs), services, or framework tags such as 'cis-v7', 'ssb:ACCT.02'."""
    specs = load_checks()
    inc, exc = list(include), list(exclude)
    chosen = [s for s in specs if not inc or any(_matches(s.id, p) for p in inc)]
    return sorted((s for s in chosen if not any(_matches(s.id, p) for p in exc)), key=lambda s: s.id)


def _matches(check_id: str, pattern: str) -> bool:
    item = catalog()[check_id]
    pattern = pattern.strip()
    if fnmatch.fnmatchcase(check_id, pattern) or item.service == pattern:
        return True
    tags = framework_tags(item)
    return any(fnmatch.fnmatchcase(t, pattern) or t.split(":")[0] == pattern or t.startswith(pattern + ".")
               for t in tags)


def unknown_patterns(patterns: Iterable[str]) -> list[str]:
    specs = load_checks()
    return [p for p in patterns if not any(_matches(s.id, p) for s in specs)]


def collect(session: object, checks: list[CheckSpec], regions: list[str], cfg: AuditConfig,
            progress: Progress | None = None) -> Inventory:
    identity = session.identity()  # type: ignore[attr-defined]
    needed = sorted({d for c in checks for d in (*c.needs, *c.optional)})
    specs = _with_upstreams([DATASETS[d] for d in needed])
    # Units that others wait for (ec2 before ec2_images) start first: they head the longest chains.
    upstreams = {u for s in specs for u in s.after}
    units = sorted(((s, r) for s in specs for r in (regions if s.regional else [GLOBAL])),
                   key=lambda unit: unit[0].name not in upstreams)
    parts: dict[str, list[tuple[str, Section]]] = {s.name: [] for s in specs}
    gaps: list[Gap] = []
    done: dict[tuple[str, str], tuple[Section, list[Gap]]] = {}
    started = datetime.now(timezone.utc)
    # Two pools: units may wait on their detail calls, detail calls never wait, so no deadlock. Detail calls
    # take turns between units (one lane each), so a unit with thousands of them does not starve the rest.
    with ThreadPoolExecutor(cfg.workers, thread_name_prefix="unit") as units_pool, \
            FairPool(cfg.workers, name="detail") as detail_pool:
        futures: dict[Future[Section], tuple[CollectorSpec, CollectContext]] = {}
        waiting = list(units)
        idle: set[tuple[str, str]] = set()  # clients of finished units, released once no other unit needs them

        def submit_ready() -> None:
            # A unit starts once the units it reads from (same region, or global) have finished.
            for spec, region in list(waiting):
                ups = {u: (u, region if COLLECTORS.get(u).regional else GLOBAL) for u in spec.after}
                if all(key in done for key in ups.values()):
                    waiting.remove((spec, region))
                    ctx = CollectContext(session, spec, region, identity.account_id, identity.partition,
                                         detail_pool.lane((spec.name, region)),
                                         {u: done[key] for u, key in ups.items()})
                    futures[units_pool.submit(_run_unit, spec, ctx, progress)] = (spec, ctx)

        try:
            submit_ready()
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    spec, ctx = futures.pop(fut)
                    section = fut.result()
                    parts[spec.name].append((ctx.region, section))
                    done[(spec.name, ctx.region)] = (section, ctx.gaps)
                    gaps.extend(ctx.gaps)
                    idle |= ctx.clients_in_use()
                submit_ready()
                idle = _release_idle(session, idle, waiting, list(futures.values()))
        except BaseException:  # Ctrl-C / SIGTERM: drop queued units instead of draining them
            units_pool.shutdown(wait=False, cancel_futures=True)
            detail_pool.shutdown(cancel=True)
            raise
    sections = {name: COLLECTORS.get(name).section.merge(_ordered(p)) for name, p in parts.items()}
    calls = {f"{s}:{r}:{o}": n for (s, r, o), n in sorted(session.calls.items())}  # type: ignore[attr-defined]
    return Inventory(identity=identity, regions=regions, collected_at=started,
                     datasets=sorted({d for s in specs for d in s.datasets}), sections=sections,
                     gaps=sorted(gaps, key=lambda g: (g.dataset, g.region, g.operation, g.resource_id or "")),
                     api_calls=calls)


def _release_idle(session: Any, idle: set[tuple[str, str]], waiting: list[tuple[CollectorSpec, str]],
                  running: list[tuple[CollectorSpec, CollectContext]]) -> set[tuple[str, str]]:
    """Release the clients no waiting or running unit will use; returns those still held back."""
    home = session.home_region
    needed = {(spec.service, home if region == GLOBAL else region) for spec, region in waiting}
    for spec, ctx in running:
        needed.add((spec.service, ctx.api_region))
        needed |= ctx.clients_in_use()
    services = {service for service, _ in needed}
    for key in idle - needed:
        session.release(*key, keep_model=key[0] in services)
    return idle & needed


def _with_upstreams(specs: list[CollectorSpec]) -> list[CollectorSpec]:
    """The collectors to run: those the checks need, plus every collector they read from."""
    chosen: dict[str, CollectorSpec] = {}
    stack = list(specs)
    while stack:
        spec = stack.pop()
        if spec.name not in chosen:
            chosen[spec.name] = spec
            stack.extend(COLLECTORS.get(u) for u in spec.after)
    return sorted(chosen.values(), key=lambda s: s.name)


def _ordered(parts: list[tuple[str, Section]]) -> list[Section]:
    # Units finish in any order; merge in region order so two scans of one account give identical snapshots.
    return [section for _, section in sorted(parts, key=lambda p: p[0])]


def _run_unit(spec: CollectorSpec, ctx: CollectContext, progress: Progress | None) -> Section:
    if progress:
        progress(spec.name, ctx.region, "start")
    try:
        section = spec.fn(ctx)
    except Exception as exc:  # noqa: BLE001 - a crashed collector is a gap on all its datasets
        LOG.warning("collector %s failed in %s: %s", spec.name, ctx.region, exc)
        for ds in spec.datasets:
            ctx.gap_for(ds, exc)
        section = spec.section()
    if progress:
        progress(spec.name, ctx.region, "error" if ctx.gaps else "done")
    return section


def evaluate(inv: Inventory, checks: list[CheckSpec], cfg: AuditConfig) -> list[Finding]:
    findings: list[Finding] = []
    stamp = _Stamper(inv.account_id)
    for spec in checks:
        findings.extend(stamp(spec, f) for f in _evaluate_one(inv, spec, cfg))
    return sorted(findings, key=lambda f: (f.check_id, f.region, f.resource.arn, f.subkey, f.status.value))


def _evaluate_one(inv: Inventory, spec: CheckSpec, cfg: AuditConfig) -> list[Finding]:
    absent = [d for d in spec.needs if d not in inv.datasets]
    if absent:
        return [Finding.with_status(Status.ERROR, inv.account(),
                                    f"not collected in this inventory: {', '.join(absent)}")]
    gaps = [g for g in inv.gaps if g.dataset in spec.needs]
    try:
        raw = list(spec.run(inv, cfg))
    except Exception as exc:
        LOG.exception("check %s crashed", spec.id)
        return [Finding.with_status(Status.ERROR, inv.account(), f"check failed: {type(exc).__name__}: {exc}")]
    out = [f for f in raw if not any(_tainted(f, g) for g in gaps)]
    for gap in _dedupe(gaps):
        ref = inv.account() if gap.region == GLOBAL else inv.setting(gap.service, "region", gap.region)
        if gap.resource_id:
            hit = next((f.resource for f in raw if gap.resource_id in (f.resource.id, f.resource.arn)), None)
            ref = hit or ResourceRef(arn=gap.resource_id, id=gap.resource_id.rsplit("/", 1)[-1],
                                     type=f"AWS::{gap.service}", region=gap.region)
        out.append(Finding(status=Status.ERROR, region=gap.region, resource=ref, gap=gap,
                           message=f"could not read: {gap.describe()}"))
    if not out:
        out.append(Finding.with_status(Status.NOT_APPLICABLE, inv.account(), "no resources in scope"))
    return out


def _tainted(f: Finding, g: Gap) -> bool:
    """A finding is not trustworthy when a needed read failed in its scope (or for its resource)."""
    same_scope = g.region == GLOBAL or f.region == GLOBAL or f.region == g.region
    if not same_scope:
        return False
    return g.resource_id is None or g.resource_id in (f.resource.id, f.resource.arn)


def _dedupe(gaps: list[Gap]) -> list[Gap]:
    seen: dict[tuple[str, str, str | None], Gap] = {}
    for g in gaps:
        seen.setdefault((g.region, g.iam_action, g.resource_id), g)
    return list(seen.values())


class _Stamper:
    """Sets a finding's check, severity and account, sharing what repeats across ~10^4 findings.

    Findings on one resource share one ResourceRef, and findings that set the same fields share one
    fields-set: pydantic otherwise keeps a ~1 KB set per finding (about a third of a finding's memory).
    """

    _STAMPED = frozenset({"check_id", "severity", "account_id"})

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.refs: dict[tuple[str, str, str, str], ResourceRef] = {}
        self.fields_sets: dict[frozenset[str], set[str]] = {}

    def __call__(self, spec: CheckSpec, f: Finding) -> Finding:
        r = f.resource
        ref = self.refs.setdefault((r.arn, r.id, r.type, r.region), r)
        fields = frozenset(f.model_fields_set | self._STAMPED)
        # No second validation: every value was validated when the finding was made.
        return Finding.assemble({**f.__dict__, "check_id": spec.id, "severity": spec.severity,
                                 "account_id": self.account_id, "resource": ref},
                                self.fields_sets.setdefault(fields, set(fields)))


def manual_findings(inv: Inventory) -> list[Finding]:
    return [Finding(check_id=item.id, status=Status.MANUAL, severity=Severity.INFORMATIONAL,
                    account_id=inv.account_id, resource=inv.account(),
                    message=f"needs a human attestation: {item.why_manual}")
            for item in catalog().values() if item.manual]


def check_info(spec: CheckSpec) -> CheckInfo:
    item = catalog()[spec.id]
    return CheckInfo(id=spec.id, title=item.title, severity=spec.severity, area=item.area, service=item.service,
                     rationale=spec.rationale or item.evaluates, frameworks=item.frameworks,
                     remediation=item.evaluates, needs=spec.needs)


def manual_info() -> list[CheckInfo]:
    return [CheckInfo(id=i.id, title=i.title, severity=Severity.INFORMATIONAL, area=i.area, service="manual",
                      rationale=i.why_manual, frameworks=i.frameworks, remediation=i.attestation, manual=True)
            for i in catalog().values() if i.manual]


def summarize(findings: list[Finding], checks_run: int, gaps: list[Gap]) -> Summary:
    by_status = {s.value: 0 for s in Status}
    by_sev = {s.value: 0 for s in Severity}
    for f in findings:
        by_status[f.status.value] += 1
        if f.status is Status.FAIL:
            by_sev[f.severity.value] += 1
    judged = by_status["PASS"] + by_status["FAIL"]
    score = round(100.0 * by_status["PASS"] / judged, 1) if judged else None
    return Summary(by_status=by_status, by_severity_failed=by_sev, checks_run=checks_run,
                   resources=len({f.resource.arn for f in findings}), score=score,
                   # Gaps on optional datasets affect no verdict; every other gap already made an ERROR finding.
                   complete=by_status["ERROR"] == 0)


def build_result(inv: Inventory, checks: list[CheckSpec], cfg: AuditConfig, started: datetime,
                 include_manual: bool = True, warnings: list[str] | None = None) -> AuditResult:
    findings = evaluate(inv, checks, cfg)
    infos = [check_info(c) for c in checks]
    if include_manual:
        findings += manual_findings(inv)
        infos += manual_info()
    return AuditResult(tool_version=__version__, schema_version=SCHEMA_VERSION, identity=inv.identity,
                       regions=inv.regions, checks=infos, started_at=started,
                       finished_at=datetime.now(timezone.utc), gaps=inv.gaps, findings=findings,
                       summary=summarize(findings, len(checks), inv.gaps), api_calls=inv.api_calls,
                       warnings=warnings or [])
