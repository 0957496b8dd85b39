"""Reading simaws's call log and the scan reports: call counts, repeats, lower bounds, verdict diffs."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CallStats:
    phase: str
    calls: int = 0  # every request the scan sent, retries included
    answered: int = 0  # requests not refused by throttling (the work a perfect client would still do)
    outcomes: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    by_op: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_service_region: Counter[tuple[str, str]] = field(default_factory=Counter)
    throttled_by_sr: Counter[tuple[str, str]] = field(default_factory=Counter)
    finish_by_sr: dict[tuple[str, str], float] = field(default_factory=dict)  # seconds after the first call
    repeats: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (service, region, op) -> extra calls
    distinct_params: Counter[tuple[str, str]] = field(default_factory=Counter)
    span: float = 0.0  # first to last call, seconds
    server_cpu: float = 0.0  # seconds of CPU simaws (moto) spent answering, summed over calls
    server_cpu_by_op: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def repeated(self) -> int:
        return sum(self.repeats.values())


def read_phase(log: Path, phase: str) -> CallStats:
    rows = []
    with log.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("phase") == phase:
                rows.append(row)
    st = CallStats(phase=phase)
    if not rows:
        return st
    t0 = min(r["t"] for r in rows)
    st.span = max(r["t"] for r in rows) - t0
    seen: Counter[tuple[str, str, str, str]] = Counter()
    params: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        sr, op = (r["service"], r["region"]), (r["service"], r["op"])
        st.calls += 1
        if r["outcome"] == "ok" and (r.get("status") or 200) >= 500:
            r["outcome"] = "server500"  # moto's own failure (an unimplemented operation), retried by botocore
        st.outcomes[r["outcome"]] += 1
        st.writes += 0 if r["read"] else 1
        st.by_op[op] += 1
        st.server_cpu += r.get("cpu_ms", 0.0) / 1000.0
        st.server_cpu_by_op[op] += r.get("cpu_ms", 0.0) / 1000.0
        if r["outcome"] == "throttled":
            st.throttled_by_sr[sr] += 1
            continue
        st.answered += 1
        st.by_service_region[sr] += 1
        st.finish_by_sr[sr] = max(st.finish_by_sr.get(sr, 0.0), r["t"] - t0)
        params[op].add(r.get("params") or "")
        if r["outcome"] == "ok":  # a retry after a 500 or a throttle is not a repeat
            seen[(r["service"], r["region"], r["op"], r.get("params") or "")] += 1
    for (svc, region, op, _), n in seen.items():
        if n > 1:
            st.repeats[(svc, region, op)] += n - 1
    st.distinct_params = Counter({op: len(p) for op, p in params.items()})
    return st


def read_replay(log: Path) -> CallStats:
    """CallStats of a scan against replay.py, from its log (every answer is a recorded one: no throttling)."""
    st = CallStats(phase="replay")
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["service"] != "?"]  # control requests
    if not rows:
        return st
    t0 = min(r["arrived"] for r in rows)
    st.span = max(r["t"] for r in rows) - t0
    for r in rows:
        st.calls += 1
        st.answered += 1
        st.outcomes[r["how"]] += 1
        st.by_service_region[(r["service"], r["region"])] += 1
    return st


def lower_bound(st: CallStats, latency_ms: float, concurrency: int, tps: float) -> float:
    """max(calls x latency / concurrency, max over (service, region) of calls / rate), in seconds."""
    latency_part = st.answered * latency_ms / 1000.0 / max(1, concurrency)
    throttle_part = max(st.by_service_region.values(), default=0) / tps if tps else 0.0
    return max(latency_part, throttle_part)


def verdicts(report: Path) -> dict[tuple[str, str, str, str], str]:
    data = json.loads(report.read_text(encoding="utf-8"))
    return {(f["check_id"], f["region"], f["resource"]["arn"], f.get("subkey", "")): f["status"]
            for f in data["findings"]}


def report_summary(report: Path) -> dict[str, Any]:
    data = json.loads(report.read_text(encoding="utf-8"))
    gaps = Counter(f"{g['operation']}:{g['error_code']}" for g in data["gaps"])
    return {"by_status": data["summary"]["by_status"], "checks": data["summary"]["checks_run"],
            "gaps": dict(sorted(gaps.items())), "check_ids": sorted({c["id"] for c in data["checks"]
                                                                     if not c.get("manual")})}


def unserved_checks(report: Path) -> tuple[list[str], list[str]]:
    """(checks, reasons): checks served by a collector that hit a server error in a clean scan (moto answers its
    unimplemented operations with HTTP 500, which botocore retries with backoff: measuring that would time the
    backoff, not the scan). A collector makes all its calls for any of its datasets, so the whole collector goes.
    Reads that fail at once (404, parse errors) cost nothing and stay in, as gaps."""
    from auditor.collectors import DATASETS, load_collectors

    load_collectors()
    data = json.loads(report.read_text(encoding="utf-8"))
    broken = {g["dataset"]: f"{g['service']}.{g['operation']} {g['error_code']}" for g in data["gaps"]
              if g["error_code"] in _SERVER_ERRORS}
    collectors = {DATASETS[d].name for d in broken if d in DATASETS}
    datasets = set(broken) | {d for d, spec in DATASETS.items() if spec.name in collectors}
    checks = sorted(c["id"] for c in data["checks"] if not c.get("manual") and set(c.get("needs", [])) & datasets)
    return checks, sorted(set(broken.values()))


_SERVER_ERRORS = {"500", "502", "503", "InternalError", "InternalFailure", "ServiceUnavailable", "InternalServerError"}


def diff_verdicts(a: dict[Any, str], b: dict[Any, str]) -> list[str]:
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(f"{key[0]} {key[1]} {key[2]} {key[3]}: {a.get(key, '-')} -> {b.get(key, '-')}")
    return out


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares slope and intercept (enough points to show whether cost grows linearly)."""
    n = len(xs)
    if n < 2:
        return 0.0, ys[0] if ys else 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return slope, my - slope * mx
