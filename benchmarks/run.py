"""Run the benchmark matrix against simaws and write benchmarks/RESULTS.md.

  python benchmarks/run.py                       # sizes 100,1000,10000 at 30 ms, 16 workers, a throttled run
  python benchmarks/run.py --sizes 100 --with-peers

Per size: a fresh simaws process (loopback only) is populated by generate.py in phase "setup", a warm-up scan at zero
latency loads moto's lazily-built backends (otherwise the first call per service and region pays seconds of moto
start-up), then the measured scan runs as a subprocess (`python -m auditor scan`) whose peak RSS is its own VmHWM
(see timed_child).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import analysis  # noqa: E402
import generate  # noqa: E402
import results_md  # noqa: E402

# s3control prefixes the endpoint host with the account id ("123456789012.127.0.0.1"), which no resolver knows:
# map such names back to loopback inside the scan process only. At exit, the scan's peak RSS goes to the file
# timed_child names. Nothing else changes.
BOOT = """
import atexit, os, runpy, socket, sys
def _hwm():
    path = os.environ.get("AUDITOR_BENCH_HWM")
    if path:
        with open("/proc/self/status") as fh:
            kb = next((l.split()[1] for l in fh if l.startswith("VmHWM:")), "")
        with open(path, "w") as out:
            out.write(kb)
atexit.register(_hwm)
_gai = socket.getaddrinfo
def _loopback(host, *a, **k):
    if isinstance(host, str) and host.endswith(".127.0.0.1"):
        host = "127.0.0.1"
    return _gai(host, *a, **k)
socket.getaddrinfo = _loopback
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
"""


def scan_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=url, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               # Anything not addressed to loopback goes to a closed loopback port and fails at once.
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               NO_PROXY="127.0.0.1,localhost", PYTHONPATH=str(ROOT))
    return env


class Sim:
    """simaws (with parameter digests) in its own process on a free loopback port."""

    def __init__(self, log: Path) -> None:
        self._start(log, "simlog.py", "--port", "0")
        # moto's server keeps printing (e.g. one line per unknown host); an unread pipe fills and stalls it.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def _start(self, log: Path, script: str, *args: str) -> None:
        """Start `script` with `args --log LOG` and read its URL from the banner it prints."""
        self.log = log
        log.unlink(missing_ok=True)  # the servers append; a reused workdir must not mix two runs
        self.proc = subprocess.Popen([sys.executable, str(HERE / script), *args, "--log", str(log)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "http://127.0.0.1:" not in line:
            self.stop()
            raise RuntimeError(f"{script} did not start: {line!r}")
        self.url = line.split()[-1]

    def config(self, **params: Any) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.get(f"/__sim/config?{query}")

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=60) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Run:
    label: str
    size: int
    resources: int
    phase: str
    latency_ms: float
    tps: float
    workers: int
    wall: float = 0.0
    rss_mb: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    stats: analysis.CallStats | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    verdicts: dict[Any, str] = field(default_factory=dict)
    stderr_tail: str = ""
    skipped: list[str] = field(default_factory=list)
    cpu: float = 0.0  # user + system seconds of the scan process
    sim_cpu: float = 0.0  # user + system seconds simaws (moto) spent during the scan
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after: other work on the machine

    @property
    def bound(self) -> float:
        return analysis.lower_bound(self.stats, self.latency_ms, self.workers, self.tps) if self.stats else 0.0


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a running process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_child(cmd: list[str], env: dict[str, str], timeout: float, cwd: Path,
                usage_out: list[Any] | None = None) -> tuple[int, float, float, bool, str]:
    """(exit code, wall seconds, peak RSS MB, timed out, stderr tail) of one child.

    Peak RSS is the child's own high-water mark (VmHWM), not wait4's ru_maxrss: Linux carries the RSS of the
    process that forked the child (this one, holding the call logs it analyses) across exec into ru_maxrss, which
    made every scan look as large as this script. The scan's shim (BOOT) writes VmHWM at exit; any other child is
    polled every 50 ms.
    """
    err = tempfile.TemporaryFile()
    hwm = Path(tempfile.mkstemp(prefix="hwm-")[1])
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env={**env, "AUDITOR_BENCH_HWM": str(hwm)}, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=err)
    killed, done = threading.Event(), threading.Event()
    polled = [0]

    def kill() -> None:
        killed.set()
        proc.kill()

    def poll() -> None:  # Popen returns after the exec, so this reads the child's own memory
        while not done.wait(0.05):
            polled[0] = max(polled[0], _vm_hwm_kb(Path(f"/proc/{proc.pid}/status")))

    timer = threading.Timer(timeout, kill)
    timer.start()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    done.set()
    poller.join()
    timer.cancel()
    if usage_out is not None:
        usage_out.append(usage)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err.seek(0)
    tail = err.read().decode("utf-8", "replace")[-400:]
    err.close()
    written = hwm.read_text().strip()
    hwm.unlink()
    peak_kb = max(polled[0], int(written) if written.isdigit() else 0)
    return proc.returncode, wall, (peak_kb or usage.ru_maxrss) / 1024.0, killed.is_set(), tail


def _vm_hwm_kb(status: Path) -> int:
    try:
        line = next((x for x in status.read_text().splitlines() if x.startswith("VmHWM:")), "")
    except OSError:
        return 0
    return int(line.split()[1]) if line else 0


class ReplayServer(Sim):
    """replay.py (recorded answers, latency, nearly no CPU) in its own process."""

    def __init__(self, recording: Path, latency_ms: float, log: Path) -> None:
        self._start(log, "replay.py", "--recording", str(recording), "--latency-ms", str(latency_ms))

    def config(self, **params: Any) -> dict[str, Any]:
        return {}


def scan(sim: Sim, run: Run, regions: list[str], out: Path, timeout: float) -> Run:
    sim.config(phase=run.phase, latency_ms=run.latency_ms, tps=run.tps)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-c", BOOT, "auditor", "scan", "--regions", ",".join(regions), "--workers",
           str(run.workers), "--format", "json", "--output-dir", str(out), "--quiet", "--fail-on", "critical"]
    if run.skipped:
        cmd += ["--skip-checks", ",".join(run.skipped)]
    before, sim_cpu, usage = os.getloadavg()[0], cpu_seconds(sim.proc.pid), []
    run.exit_code, run.wall, run.rss_mb, run.timed_out, run.stderr_tail = timed_child(
        cmd, scan_env(sim.url), timeout, ROOT, usage)
    run.load = (before, os.getloadavg()[0])
    run.sim_cpu = cpu_seconds(sim.proc.pid) - sim_cpu
    run.cpu = usage[0].ru_utime + usage[0].ru_stime if usage else 0.0
    run.stats = (analysis.read_replay(sim.log) if isinstance(sim, ReplayServer)
                 else analysis.read_phase(sim.log, run.phase))
    report = out / "report.json"
    if report.is_file():
        run.summary = analysis.report_summary(report)
        run.verdicts = analysis.verdicts(report)
    return run


def bench_size(size: int, args: argparse.Namespace, work: Path) -> tuple[list[Run], dict[str, Any]]:
    regions = args.regions.split(",")
    p = generate.plan(args.seed, size, tuple(regions))
    resources = generate.manifest(p)["total"]
    sim = Sim(work / f"calls-{size}.jsonl")
    runs: list[Run] = []
    extra: dict[str, Any] = {"manifest": generate.manifest(p)}
    try:
        t = time.monotonic()
        generate.Builder(sim.url).build(p)
        extra["setup_seconds"] = time.monotonic() - t
        base = {"size": size, "resources": resources, "workers": args.workers}
        warm = scan(sim, Run("warm-up", phase=f"warmup-{size}", latency_ms=0, tps=0, **base), regions,
                    work / f"warmup-{size}", args.timeout)
        if not warm.summary:
            raise RuntimeError(f"warm-up scan failed (exit {warm.exit_code}): {warm.stderr_tail}")
        base["skipped"], extra["unserved"] = analysis.unserved_checks(work / f"warmup-{size}" / "report.json")
        recording = work / f"answers-{size}.pickle"
        sim.get(f"/__replay/record?path={recording}")  # the floor run's answers feed the replay run
        runs.append(scan(sim, Run("no latency", phase=f"floor-{size}", latency_ms=0, tps=0, **base), regions,
                         work / f"floor-{size}", args.timeout))
        extra["recorded"] = sim.get("/__replay/save")["saved"]
        clean = scan(sim, Run("scan", phase=f"scan-{size}", latency_ms=args.latency, tps=0, **base), regions,
                     work / f"scan-{size}", args.timeout)
        runs.append(clean)
        print(f"[{size}] scan: {clean.wall:.1f}s, {clean.stats.calls if clean.stats else 0} calls", flush=True)
        replay = ReplayServer(recording, args.latency, work / f"replay-{size}.jsonl")
        try:
            rep = scan(replay, Run("replay", phase=f"replay-{size}", latency_ms=args.latency, tps=0, **base),
                       regions, work / f"replay-{size}", args.timeout)
        finally:
            replay.stop()
        runs.append(rep)
        print(f"[{size}] replay: {rep.wall:.1f}s", flush=True)
        if size in args.throttle_sizes:
            thr = scan(sim, Run("throttled", phase=f"throttled-{size}", latency_ms=args.latency, tps=args.tps,
                                **base), regions, work / f"throttled-{size}", args.timeout)
            runs.append(thr)
            print(f"[{size}] throttled: {thr.wall:.1f}s", flush=True)
        if args.with_peers and size in args.peer_sizes:
            import peers

            sim.config(phase=f"prowler-{size}", latency_ms=args.latency, tps=0)
            extra["prowler"] = peers.run_prowler(timed_child, scan_env(sim.url), clean.summary.get("check_ids", []),
                                                 regions, work / f"prowler-{size}", args.timeout)
            extra["prowler"]["stats"] = analysis.read_phase(sim.log, f"prowler-{size}")
    finally:
        sim.stop()
    return runs, extra


def main() -> None:
    ap = argparse.ArgumentParser(description="Benchmark the auditor against simaws and write RESULTS.md.")
    ap.add_argument("--sizes", default="100,1000,10000", help="target resources per account, comma list")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--regions", default=",".join(generate.REGIONS))
    ap.add_argument("--latency", type=float, default=30.0, help="ms added to every scan call")
    ap.add_argument("--workers", type=int, default=16, help="the scan's --workers; the bound's concurrency")
    ap.add_argument("--tps", type=float, default=5.0, help="throttle rate per (service, region) for the throttled run")
    ap.add_argument("--throttle-sizes", default="100", help="sizes that also get a throttled run")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed for any single scan")
    ap.add_argument("--with-peers", action="store_true", help="also run Prowler (own venv) on the mapped checks")
    ap.add_argument("--peer-sizes", default="100,1000", help="sizes that get the Prowler run with --with-peers")
    ap.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--workdir", type=Path, help="keep logs and reports here (default: a temp dir)")
    ap.add_argument("--render-only", type=Path, help="rewrite RESULTS.md from a previous run's workdir")
    args = ap.parse_args()
    if args.render_only:
        with (args.render_only / "runs.pickle").open("rb") as fh:
            runs, extras, saved, elapsed = pickle.load(fh)  # our own file, written above
        args.output.write_text(results_md.render(runs, extras, argparse.Namespace(**saved), elapsed), "utf-8")
        return
    args.throttle_sizes = {int(s) for s in args.throttle_sizes.split(",") if s}
    args.peer_sizes = {int(s) for s in args.peer_sizes.split(",") if s}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    all_runs, extras = [], {}
    started = time.time()
    for size in (int(s) for s in args.sizes.split(",")):
        runs, extra = bench_size(size, args, work)
        all_runs += runs
        extras[size] = extra
    with (work / "runs.pickle").open("wb") as fh:  # re-render with --render-only after changing results_md.py
        pickle.dump((all_runs, extras, vars(args), time.time() - started), fh)
    args.output.write_text(results_md.render(all_runs, extras, args, time.time() - started), encoding="utf-8")
    print(f"wrote {args.output} (logs and reports in {work})")


if __name__ == "__main__":
    main()
