"""RESULTS.md from the runs of one `benchmarks/run.py` invocation."""
from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import analysis


def _v(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "?"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def render(runs: list[Any], extras: dict[int, dict[str, Any]], args: Any, elapsed: float) -> str:
    out = [
        "# Benchmark results", "",
        f"Measured in one run of `python benchmarks/run.py --sizes {args.sizes} --latency {args.latency:g} "
        f"--workers {args.workers} --tps {args.tps:g}{' --with-peers' if args.with_peers else ''}` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min in all. Machine: {os.cpu_count()} "
        f"cores, Python {platform.python_version()}, boto3 {_v('boto3')}, moto {_v('moto')} (simaws). "
        f"Seed {args.seed}, regions {args.regions}.", "",
        "How each number is measured:", "",
        "- **wall**: from starting `python -m auditor scan` to its exit (interpreter start-up and report writing "
        "included); **API span**: first to last scan call in simaws's log.",
        "- **peak RSS**: the scan process's own high-water mark (`VmHWM`, written at exit; simaws runs in another "
        "process). Not `ru_maxrss`: Linux carries the forking parent's RSS (here the benchmark script) across exec "
        "into it.",
        "- **calls**: every request in simaws's JSONL log for the scan's phase (retries and throttled answers "
        "included); **answered**: minus throttled answers.",
        "- **repeated**: identical (service, region, operation, parameters) answered `ok` more than once in one scan "
        "(parameters hashed by `benchmarks/simlog.py`, a wrapper of simaws; retries are not repeats).",
        f"- **bound** = max(answered × {args.latency:g} ms ÷ {args.workers} workers, max over (service, region) of "
        "answered ÷ throttle rate); **wall/bound** is the target ratio (≤ 1.5). Concurrency is the scan's "
        "`--workers`; the engine has two pools of that size (units and detail calls), so up to 2× can be in flight.",
        "- Each size gets a fresh simaws, is populated in phase `setup`, then scanned once at zero latency (warm-up: "
        "moto builds each service/region backend lazily, which costs seconds on first touch and is not AWS "
        "behaviour), then measured: *no latency* (its answers are recorded), *scan* at the latency, *replay* "
        "(the recorded answers served by `benchmarks/replay.py` at the latency: the engine without moto's CPU "
        "cost), and *throttled* where listed.",
        "- Checks whose data the endpoint could not serve in the warm-up (moto's unimplemented operations answer "
        "500/404, which botocore retries with backoff) are skipped with `--skip-checks` in the measured runs; "
        "they are listed under *Accounts*. **load** is the machine's 1-minute load average (2 cores; other work "
        "may share the machine).", "",
        "## Matrix", "",
        "| size | resources | run | wall s | API span s | peak RSS MB | calls | answered | 500s/throttled/moto500 | "
        "repeated | calls/resource | bound s | wall/bound | span/bound | exit | gaps | scan CPU s | simaws CPU s | "
        "load before/after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        st = r.stats or analysis.CallStats(phase=r.phase)
        gaps = sum((r.summary.get("gaps") or {}).values())
        out.append(
            f"| {r.size} | {r.resources} | {r.label}{' (TIMED OUT)' if r.timed_out else ''} | {r.wall:.1f} | "
            f"{st.span:.1f} | {r.rss_mb:.0f} | {st.calls} | {st.answered} | "
            f"{st.outcomes.get('error500', 0)}/{st.outcomes.get('throttled', 0)}/{st.outcomes.get('server500', 0)} | "
            f"{st.repeated} | "
            f"{st.answered / max(1, r.resources):.2f} | {r.bound:.2f} | {_ratio(r.wall, r.bound)} | "
            f"{_ratio(st.span, r.bound)} | {r.exit_code} | {gaps} | {r.cpu:.1f} | {r.sim_cpu:.1f} | "
            f"{r.load[0]:.1f}/{r.load[1]:.1f} |")
    sections = [_targets(runs, extras), _where(runs), _memory(runs), _ops(runs), _per_resource(runs),
                _repeats(runs), _throttled(runs, args), _gaps(runs), _peers(runs, extras, args), _setup(extras, runs)]
    for section in sections:
        out += ["", *section]
    return "\n".join(out) + "\n"


def _clean(runs: list[Any]) -> list[Any]:
    return [r for r in runs if r.label == "scan"]


def _replay_of(runs: list[Any], r: Any) -> Any:
    return next((x for x in runs if x.label == "replay" and x.size == r.size), None)


def _targets(runs: list[Any], extras: dict[int, dict[str, Any]]) -> list[str]:
    clean = _clean(runs)
    lines = ["## Targets", ""]
    replays = [r for r in runs if r.label == "replay" and r.bound]
    if replays:
        worst = max(replays, key=lambda r: r.resources)
        each = "; ".join(f"{r.resources} resources {r.wall / r.bound:.2f} (wall {r.wall:.1f}s, bound {r.bound:.1f}s)"
                         for r in replays)
        lines.append(f"- wall within 1.5× of the bound, against an endpoint that costs latency only (replay): "
                     f"**{'yes' if worst.wall / worst.bound <= 1.5 else 'no'}** at {worst.resources} resources "
                     f"({each}). Small accounts have sub-second bounds that interpreter start-up alone exceeds.")
    for r in clean:
        limit = max(r.bound, r.sim_cpu)
        lines.append(f"- against simaws at {r.resources} resources: wall/bound {_ratio(r.wall, r.bound)}, but "
                     f"simaws itself needed {r.sim_cpu:.1f}s of CPU (one process, one GIL): wall ÷ max(bound, simaws "
                     f"CPU) = {_ratio(r.wall, limit)}")
    for r in replays:
        base = next((c for c in clean if c.size == r.size), None)
        diff = analysis.diff_verdicts(base.verdicts, r.verdicts) if base else ["no baseline"]
        missed = r.stats.outcomes.get("missed", 0) if r.stats else 0
        lines.append(f"- replay at {r.resources} answers as simaws did: verdicts identical to the simaws scan: "
                     f"**{'yes' if not diff else 'no'}** ({len(diff)} differ; {missed} requests not recorded, "
                     f"{r.stats.outcomes.get('by_operation', 0) if r.stats else 0} answered by operation)")
    floors = [_floor_ratio(runs, r) for r in clean]
    if floors and all(f is not None for f in floors):
        worst_floor = max(f for f in floors if f is not None)
        lines.append(f"- API span within 1.5× of max(bound, this machine's zero-latency floor): "
                     f"**{'yes' if worst_floor <= 1.5 else 'no'}** (worst {worst_floor:.2f}; see *Where the time "
                     "goes*)")
    rep = sum(r.stats.repeated for r in runs if r.stats)
    lines.append(f"- no repeated call: **{'yes' if rep == 0 else 'no'}** ({rep} repeated calls in all runs)")
    writes = sum(r.stats.writes for r in runs if r.stats)
    lines.append(f"- read-only: **{'yes' if writes == 0 else 'NO'}** ({writes} write calls during scans)")
    big = [r for r in clean if r.resources >= 9000]
    if big:
        lines.append(f"- peak RSS under 200 MB at ~10,000 resources: **{'yes' if big[0].rss_mb < 200 else 'no'}** "
                     f"({big[0].rss_mb:.0f} MB at {big[0].resources})")
    for r in runs:
        if r.label == "throttled":
            base = next((c for c in clean if c.size == r.size), None)
            diff = analysis.diff_verdicts(base.verdicts, r.verdicts) if base else ["no baseline"]
            gaps = sum((r.summary.get("gaps") or {}).values()) - sum((base.summary.get("gaps") or {}).values()) \
                if base else 0
            lines.append(f"- throttled at {r.tps:g}/s on {r.size}: verdicts identical to unthrottled: "
                         f"**{'yes' if not diff else 'no'}** ({len(diff)} differ), extra gaps: {gaps}")
    for size, extra in sorted(extras.items()):
        pw = extra.get("prowler")
        base = next((c for c in clean if c.size == size), None)
        if pw and "wall" in pw and base:
            fast = "yes" if pw["wall"] >= 5 * base.wall else "no"
            lines.append(f"- at least 5× faster than Prowler on {size}: **{fast}** (Prowler {pw['wall']:.1f}s vs "
                         f"{base.wall:.1f}s = {_ratio(pw['wall'], base.wall)}×)")
    return lines


def _floor_ratio(runs: list[Any], r: Any) -> float | None:
    floor_run = next((f for f in runs if f.label == "no latency" and f.size == r.size), None)
    if not (floor_run and floor_run.stats and r.stats):
        return None
    limit = max(r.bound, floor_run.stats.span)
    return r.stats.span / limit if limit else None


def _where(runs: list[Any]) -> list[str]:
    lines = ["## Where the time goes", "",
             "The bound assumes answers cost nothing but latency. The *no latency* run measures what this machine can "
             "do at all: the scan process and moto share its cores (and other work may load them). **floor** = that "
             "run's API span; **in flight** = answered × latency ÷ span, the concurrency the measured scan achieved.",
             "**simaws CPU** is the simulator process's CPU during the scan and **moto ms/call** the CPU its threads "
             "spent answering (simlog's `cpu_ms`): simaws answers in one process under one GIL, so on this "
             "machine it cannot serve the scan faster than its CPU time, whatever the latency. The *replay* columns "
             "are the same scan against replay.py, which answers the recorded bytes after the latency and costs "
             "little CPU, as AWS costs a client nothing but latency: that is the engine's own wall ÷ bound.",
             "", "| resources | bound s | floor s | span s | span ÷ max(bound, floor) | in flight | scan CPU s | "
             "scan CPU ms/call | simaws CPU s | moto ms/call | replay wall s | replay wall ÷ bound | replay in flight "
             "| replay server CPU s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in _clean(runs):
        floor_run = next((f for f in runs if f.label == "no latency" and f.size == r.size), None)
        floor = floor_run.stats.span if floor_run and floor_run.stats else 0.0
        span = r.stats.span if r.stats else 0.0
        flight = (r.stats.answered * r.latency_ms / 1000.0 / span) if r.stats and span else 0.0
        rep = _replay_of(runs, r)
        rep_span = rep.stats.span if rep and rep.stats else 0.0
        rep_flight = rep.stats.answered * rep.latency_ms / 1000.0 / rep_span if rep and rep_span else 0.0
        answered = max(1, r.stats.answered if r.stats else 1)
        lines.append(f"| {r.resources} | {r.bound:.1f} | {floor:.1f} | {span:.1f} | "
                     f"{_ratio(span, max(r.bound, floor))} | {flight:.1f} of {r.workers} | {r.cpu:.1f} | "
                     f"{1000 * r.cpu / answered:.1f} | {r.sim_cpu:.1f} | "
                     f"{1000 * (r.stats.server_cpu if r.stats else 0) / answered:.1f} | "
                     f"{rep.wall if rep else 0:.1f} | {_ratio(rep.wall, rep.bound) if rep else '-'} | "
                     f"{rep_flight:.1f} of {r.workers} | {rep.sim_cpu if rep else 0:.1f} |")
    return lines


def _memory(runs: list[Any]) -> list[str]:
    clean = _clean(runs)
    xs, ys = [r.resources for r in clean], [r.rss_mb for r in clean]
    slope, icpt = analysis.linear_fit(xs, ys)
    cs, ci = analysis.linear_fit(xs, [float(r.stats.answered) if r.stats else 0.0 for r in clean])
    lines = ["## Cost curve", "", "| resources | peak RSS MB | answered calls | wall s |", "|---|---|---|---|"]
    lines += [f"| {r.resources} | {r.rss_mb:.0f} | {r.stats.answered if r.stats else 0} | {r.wall:.1f} |"
              for r in clean]
    lines += ["", f"Least-squares fit: RSS ≈ {icpt:.0f} MB + {slope * 1000:.1f} MB per 1,000 resources; calls ≈ "
              f"{ci:.0f} + {cs:.2f} per resource."]
    return lines


def _ops(runs: list[Any]) -> list[str]:
    clean = _clean(runs)
    ops = sorted({op for r in clean if r.stats for op in r.stats.by_op})
    head = "| service | operation | " + " | ".join(f"{r.resources} res." for r in clean) + " |"
    lines = ["## API calls by (service, operation), measured scans", "", head,
             "|---|---|" + "---|" * len(clean)]
    for svc, op in ops:
        lines.append(f"| {svc} | {op} | " + " | ".join(str(r.stats.by_op.get((svc, op), 0)) for r in clean) + " |")
    return lines


def _per_resource(runs: list[Any]) -> list[str]:
    clean = _clean(runs)
    if not clean or not clean[-1].stats:
        return []
    st = clean[-1].stats
    rows = sorted(((op, n) for op, n in st.distinct_params.items() if n >= 5), key=lambda x: -x[1])
    lines = [f"## Per-resource operations ({clean[-1].resources} resources)", "",
             "Operations called with five or more distinct parameter sets: each is a per-resource (or paginated) "
             "read. Review them for a list or batch call that already returns the field.", "",
             "| service | operation | distinct parameter sets |", "|---|---|---|"]
    lines += [f"| {svc} | {op} | {n} |" for (svc, op), n in rows]
    return lines


def _repeats(runs: list[Any]) -> list[str]:
    lines = ["## Repeated calls", ""]
    found = [(r, key, n) for r in runs if r.stats for key, n in sorted(r.stats.repeats.items())]
    if not found:
        return lines + ["None: no scan sent the same operation with the same parameters twice."]
    lines += ["| size | run | service | region | operation | extra calls |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.size} | {r.label} | {k[0]} | {k[1]} | {k[2]} | {n} |" for r, k, n in found]
    return lines


def _throttled(runs: list[Any], args: Any) -> list[str]:
    lines = ["## Throttled run", ""]
    for r in (x for x in runs if x.label == "throttled" and x.stats):
        st = r.stats
        lines += [f"{r.size} resources, {r.tps:g} calls/s per (service, region), burst {2 * r.tps:g}: wall "
                  f"{r.wall:.1f}s, {st.outcomes.get('throttled', 0)} throttled answers. Each (service, region) "
                  "finishes near its own floor (its answered calls ÷ rate) when none starves the others.", "",
                  "| service | region | answered | throttled | finished at s | own floor s |",
                  "|---|---|---|---|---|---|"]
        for (svc, region), n in sorted(st.by_service_region.items(), key=lambda x: -x[1]):
            lines.append(f"| {svc} | {region} | {n} | {st.throttled_by_sr.get((svc, region), 0)} | "
                         f"{st.finish_by_sr.get((svc, region), 0):.1f} | {n / r.tps:.1f} |")
        base = next((c for c in _clean(runs) if c.size == r.size), None)
        diff = analysis.diff_verdicts(base.verdicts, r.verdicts) if base else []
        lines += ["", f"Verdict differences against the unthrottled scan: {len(diff)}."]
        lines += [f"- {d}" for d in diff[:30]]
    return lines


def _gaps(runs: list[Any]) -> list[str]:
    lines = ["## Gaps (reads that failed) per run", "",
             "moto limitations show up here in every run (they are the same with and without faults); "
             "anything that differs between runs of one size is a real finding.", ""]
    for r in runs:
        gaps = r.summary.get("gaps") or {}
        text = ", ".join(f"{k} ×{n}" for k, n in gaps.items()) or "none"
        lines.append(f"- {r.size} {r.label}: {text}" + (f" (stderr: `{r.stderr_tail.strip()[-200:]}`)"
                                                          if r.exit_code not in (0, 1, 3) else ""))
    return lines


def _peers(runs: list[Any], extras: dict[int, dict[str, Any]], args: Any) -> list[str]:
    lines = ["## Prowler side by side", ""]
    if not args.with_peers:
        return lines + ["Not run (`--with-peers` not given)."]
    for size, extra in sorted(extras.items()):
        pw = extra.get("prowler")
        if not pw:
            continue
        if "error" in pw:
            lines.append(f"- {size}: not measured: {pw['error']}")
            continue
        st = pw.get("stats")
        base = next((c for c in _clean(runs) if c.size == size), None)
        lines.append(f"- {size} resources: {pw.get('version')} with {len(pw.get('checks', []))} mapped checks: wall "
                     f"{pw['wall']:.1f}s{' (TIMED OUT)' if pw.get('timed_out') else ''}, peak RSS "
                     f"{pw['rss_mb']:.0f} MB, {st.calls if st else '?'} calls, findings {pw.get('findings')}; "
                     f"auditor (all checks) {base.wall if base else 0:.1f}s, {base.stats.calls if base else 0} calls.")
    checks = next((e["prowler"].get("checks") for e in extras.values() if e.get("prowler", {}).get("checks")), [])
    if checks:
        lines += ["", "Prowler checks run: " + ", ".join(f"`{c}`" for c in checks)]
    return lines


def _setup(extras: dict[int, dict[str, Any]], runs: list[Any]) -> list[str]:
    lines = ["## Accounts", "", "| size | resources by kind | setup s |", "|---|---|---|"]
    for size, extra in sorted(extras.items()):
        m = {k: v for k, v in extra["manifest"].items() if k != "total"}
        lines.append(f"| {size} | {extra['manifest']['total']}: " + ", ".join(f"{k} {v}" for k, v in m.items())
                     + f" | {extra.get('setup_seconds', 0):.0f} |")
    for size, extra in sorted(extras.items()):
        run = next((r for r in _clean(runs) if r.size == size), None)
        if run and run.skipped:
            lines += ["", f"Not measured at {size} (the endpoint could not serve: "
                      f"{'; '.join(extra.get('unserved', []))}): " + ", ".join(f"`{c}`" for c in run.skipped)]
    return lines
