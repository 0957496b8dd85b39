"""Organization scan benchmark: wall time of `auditor scan --organization` against accounts in flight.

  python benchmarks/org_bench.py                                   # 50 accounts, 30 ms, in flight 1,2,4,8,16
  python benchmarks/org_bench.py --accounts 10 --in-flight 1,4     # a quick small run

One simaws process (loopback only, see run.py) holds an organization: the management account plus `--accounts`
members made with CreateAccount, each with the member role and a small generated account (generate.py, `--size`
resources, seed + i so bucket names differ) built in phase "setup" through its OrganizationAccountAccessRole. A
warm-up organization scan at zero latency builds moto's per-account backends and finds the checks moto cannot serve
(left out of the measured runs, as run.py does). Then, per accounts-in-flight value, the whole organization is scanned
at `--latency` ms per call as a subprocess; wall time and peak RSS come from run.timed_child.

The lower bound of a run is calls x latency / (accounts in flight x per-account workers): the API work spread over
every unit that can wait on the network at once. Writes benchmarks/RESULTS-org.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import analysis  # noqa: E402
import generate  # noqa: E402
from run import BOOT, ROOT, Sim, scan_env, timed_child  # noqa: E402

from auditor.organization import account_workers  # noqa: E402

ROLE = "AuditorReadOnly"
MGMT = "123456789012"


def _session(creds: dict[str, str] | None = None) -> boto3.Session:
    if creds:
        return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                             aws_session_token=creds["SessionToken"], region_name="us-east-1")
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


def build_org(url: str, accounts: int, size: int, seed: int, regions: tuple[str, ...]) -> dict[str, Any]:
    mgmt = _session()
    org = mgmt.client("organizations", endpoint_url=url)
    org.create_organization(FeatureSet="ALL")
    ids = [org.create_account(AccountName=f"member-{i:03d}", Email=f"member-{i:03d}@example.com")
           ["CreateAccountStatus"]["AccountId"] for i in range(accounts)]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"}}]})
    sts = mgmt.client("sts", endpoint_url=url)

    def member(i_acct: tuple[int, str]) -> int:
        i, acct = i_acct
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/OrganizationAccountAccessRole",
                                RoleSessionName="bench-setup")["Credentials"]
        b = generate.Builder(url)
        b.boto, b.account, b._clients = _session(creds), acct, {}
        b.c("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)
        p = generate.plan(seed + i, size, regions)
        b.build(p)
        return int(generate.manifest(p)["total"])

    with ThreadPoolExecutor(4) as pool:
        resources = list(pool.map(member, enumerate(ids)))
    return {"ids": ids, "resources": resources}


def unserved(reports: list[Path]) -> tuple[set[str], set[str]]:
    """Like analysis.unserved_checks over every account, also dropping checks that read the broken collector
    optionally: any check that makes the collector run would time botocore's backoff on moto's 500s."""
    from auditor.collectors import DATASETS
    from auditor.runner import load_checks

    broken: dict[str, str] = {}
    for rep in reports:
        for g in json.loads(rep.read_text(encoding="utf-8"))["gaps"]:
            if g["error_code"] in analysis._SERVER_ERRORS:
                broken[g["dataset"]] = f"{g['service']}.{g['operation']} {g['error_code']}"
    specs = load_checks()
    collectors = {DATASETS[d].name for d in broken if d in DATASETS}
    datasets = set(broken) | {d for d, spec in DATASETS.items() if spec.name in collectors}
    return ({s.id for s in specs if (set(s.needs) | set(s.optional)) & datasets}, set(broken.values()))


def writes(log: Path, phase: str) -> int:
    """Calls simaws classed as writes, except sts:AssumeRole (the member role: changes nothing)."""
    with log.open(encoding="utf-8") as fh:
        return sum(1 for line in fh for r in [json.loads(line)]
                   if r.get("phase") == phase and not r.get("read", True) and r.get("op") != "AssumeRole")


def timed(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, float, float, float, bool, str]:
    """run.timed_child plus the child's CPU seconds (user + system), to tell a CPU-bound scan from a waiting one."""
    usage: list[Any] = []
    code, wall, rss, killed, tail = timed_child(cmd, env, timeout, ROOT, usage)
    return code, wall, rss, usage[0].ru_utime + usage[0].ru_stime, killed, tail


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of a running process (Linux /proc): simaws's, whose moto work shares one interpreter."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def org_scan(sim: Sim, phase: str, latency: float, in_flight: int, args: argparse.Namespace, out: Path,
             skip: list[str]) -> dict[str, Any]:
    sim.config(phase=phase, latency_ms=latency, tps=0)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-c", BOOT, "auditor", "scan", "--organization", "--member-role", ROLE, "--regions",
           args.regions, "--workers", str(args.workers), "--accounts-in-flight", str(in_flight), "--format", "json",
           "--output-dir", str(out), "--quiet", "--fail-on", "critical"]
    if skip:
        cmd += ["--skip-checks", ",".join(skip)]
    load = os.getloadavg()[0]
    sim_cpu = _cpu_seconds(sim.proc.pid)
    code, wall, rss, cpu, timed_out, tail = timed(cmd, scan_env(sim.url), args.timeout)
    stats = analysis.read_phase(sim.log, phase)
    row: dict[str, Any] = {"in_flight": in_flight, "workers": account_workers(args.workers, in_flight), "wall": wall,
                           "rss": rss, "cpu": cpu, "sim_cpu": _cpu_seconds(sim.proc.pid) - sim_cpu,
                           "exit": code, "timed_out": timed_out, "calls": stats.calls,
                           "load": (load, os.getloadavg()[0]),
                           "span": stats.span, "writes": writes(sim.log, phase), "stderr": tail}
    report = out / "org-report.json"
    if report.is_file():
        doc = json.loads(report.read_text(encoding="utf-8"))
        row["scanned"] = sum(1 for a in doc["accounts"] if a["result"])
        row["not_scanned"] = sum(1 for a in doc["accounts"] if not a["result"])
        row["findings"] = sum(len(a["result"]["findings"]) for a in doc["accounts"] if a["result"])
    row["bound"] = stats.calls * latency / 1000.0 / (in_flight * row["workers"]) if latency else 0.0
    return row


def render(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Organization scan benchmark", "",
        f"Generated by `python benchmarks/org_bench.py {meta['argv']}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Organization of {meta['accounts'] + 1} accounts (management + {meta['accounts']} members created with "
        f"CreateAccount), each member a small generated account of ~{meta['size']} resources "
        f"({min(meta['resources'])}-{max(meta['resources'])}, {sum(meta['resources'])} in total) in "
        f"{meta['regions']}; the management account is empty. simaws at {meta['latency']:g} ms per call, no "
        f"throttling; `--workers {meta['workers']}`; setup took {meta['setup']:.0f} s, the warm-up scan "
        f"{meta['warmup']:.0f} s.",
        "",
        f"Checks left out because moto cannot serve them (HTTP 500 in the warm-up): {len(meta['skip'])} "
        f"({', '.join(meta['reasons']) or 'none'}).",
        "",
        "| accounts in flight | workers per account | wall (s) | API span (s) | calls | calls/s | lower bound (s) "
        "| wall / bound | scan CPU (s) | simaws CPU (s) | peak RSS (MB) | scanned / not scanned | exit "
        "| load before/after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in rows:
        ratio = f"{r['wall'] / r['bound']:.1f}" if r["bound"] else "-"
        lines.append(f"| {r['in_flight']} | {r['workers']} | {r['wall']:.1f}{' (timed out)' if r['timed_out'] else ''}"
                     f" | {r['span']:.1f} | {r['calls']} | {r['calls'] / max(r['wall'], 1e-9):.0f} | "
                     f"{r['bound']:.1f} | {ratio} | {r['cpu']:.1f} | {r['sim_cpu']:.1f} | {r['rss']:.0f} | "
                     f"{r.get('scanned', '?')} / "
                     f"{r.get('not_scanned', '?')} | {r['exit']} | {r['load'][0]:.1f} / {r['load'][1]:.1f} |")
    base = rows[0]["wall"] if rows else 0
    n = meta["accounts"] + 1
    cpu = sum(r["cpu"] for r in rows) / max(1, len(rows))
    sim = sum(r["sim_cpu"] for r in rows) / max(1, len(rows))
    lines += ["", "Speed-up against the first row: " + ", ".join(
        f"{r['in_flight']} in flight {base / r['wall']:.1f}x" for r in rows if r["wall"]) + ".", "",
        "Write calls other than sts:AssumeRole (the member role), in every run: "
        + ", ".join(str(r["writes"]) for r in rows) + ".", "",
        "The lower bound is calls x latency / (accounts in flight x workers per account). Per-account workers shrink "
        "when accounts in flight x --workers would exceed 128 API units (auditor/organization.py MAX_UNITS), which "
        "keeps the process near 2 x 128 threads however many accounts run at once.", "",
        f"Machine: {os.cpu_count()} CPUs; the load average (1 min) before and after each run shows other work "
        "sharing them. simaws (moto) runs in one process on the same machine.", ""]
    lines += ["## Reading the numbers", "",
              f"- The scan spends about {cpu / n:.2f} CPU seconds per account ({cpu:.0f} s for {n} accounts, the "
              "same in every row): creating that account's clients, signing, parsing, evaluating. One scan is one "
              f"Python process, so {cpu:.0f} s is a floor for its wall time however many accounts are in flight; "
              f"here simaws's moto ({sim:.0f} s of CPU per run) shares the same {os.cpu_count()} CPUs.",
              "- Wall time far above the lower bound means the runs are CPU-bound on this machine, not waiting on "
              "the network. Against real AWS the latency share is larger (and moto's CPU is not on the scan host), "
              "so more accounts in flight pay off more than here.",
              "- Past one process's CPU, scale out with shards: `--shard I/N` runs N independent processes (CI matrix "
              "legs, Indexed Job pods), each with its own CPU, and `auditor merge` joins them.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=50, help="member accounts (the management account comes on top)")
    ap.add_argument("--size", type=int, default=30, help="target resources per member account")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--regions", default="us-east-1")
    ap.add_argument("--latency", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--in-flight", default="1,2,4,8,16", help="accounts-in-flight values to measure")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--output", type=Path, default=HERE / "RESULTS-org.md")
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="auditor-org-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    sim = Sim(work / "calls.jsonl")
    # Sim leaves simaws's stdout on a pipe nobody reads after the first line; what moto prints there per account
    # fills it within thousands of calls and then blocks the server. Drain it.
    threading.Thread(target=lambda: sim.proc.stdout and sim.proc.stdout.read(), daemon=True).start()
    try:
        t = time.monotonic()
        built = build_org(sim.url, args.accounts, args.size, args.seed, tuple(args.regions.split(",")))
        setup = time.monotonic() - t
        print(f"setup: {args.accounts} members in {setup:.0f} s", flush=True)
        warm = org_scan(sim, "warmup", 0, 8, args, work / "warmup", [])
        skip, reasons = unserved(sorted((work / "warmup" / "accounts").glob("*/report.json")))
        print(f"warm-up: {warm['wall']:.0f} s, {len(skip)} checks left out", flush=True)
        rows = []
        for k in (int(x) for x in args.in_flight.split(",")):
            row = org_scan(sim, f"org-{k}", args.latency, k, args, work / f"scan-{k}", sorted(skip))
            rows.append(row)
            print(f"in flight {k}: {row['wall']:.1f} s, {row['calls']} calls, exit {row['exit']}", flush=True)
            if row["exit"] not in (0, 1, 3):
                print(row["stderr"], flush=True)
    finally:
        sim.stop()
    meta = {"argv": " ".join(sys.argv[1:]), "accounts": args.accounts, "size": args.size, "regions": args.regions,
            "latency": args.latency, "workers": args.workers, "resources": built["resources"], "setup": setup,
            "warmup": warm["wall"], "skip": sorted(skip), "reasons": sorted(reasons)}
    (work / "results.json").write_text(json.dumps({"rows": rows, "meta": meta}, indent=1), encoding="utf-8")
    args.output.write_text(render(rows, meta), encoding="utf-8")
    print(f"wrote {args.output} (logs and reports in {work})")


if __name__ == "__main__":
    main()
