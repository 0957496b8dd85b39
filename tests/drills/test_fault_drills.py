"""Fault drills (issue 8): the scan under AccessDenied, 500s, bad regions, expiring credentials and SIGTERM.

Small account, zero latency unless a drill needs the scan to be in flight. Every scan is `python -m auditor scan`
in a subprocess against simaws on loopback; the baseline is a clean scan of the same account.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from auditor.collectors import DATASETS
from auditor.config import AuditConfig
from auditor.guard import iam_action
from auditor.models import Status
from auditor.runner import build_result, collect, load_checks, select_checks
from tests.drills.conftest import (
    BOOT,
    REGIONS,
    ROOT,
    CliRun,
    Sim,
    cli_env,
    common_checks,
    gap_keys,
    retries_config,
    run_cli,
    verdicts,
)

FAILING = {"critical", "high", "medium", "low"}  # --fail-on low, the CLI default


def _checks_needing(action: str) -> set[str]:
    specs = load_checks()  # also loads the collectors, which fill DATASETS
    datasets = {ds for ds, spec in DATASETS.items() if action in spec.datasets[ds]}
    return {c.id for c in specs if datasets & set(c.needs)}


def _by_check(report: dict[str, Any], only: set[str] | None = None) -> dict[str, dict[tuple[str, str, str, str], str]]:
    out: dict[str, dict[tuple[str, str, str, str], str]] = {}
    for key, status in verdicts(report, only).items():
        out.setdefault(key[0], {})[key] = status
    return out


def _expected_exit(report: dict[str, Any]) -> int:
    if any(f["status"] == "FAIL" and f["severity"] in FAILING for f in report["findings"]):
        return 1
    return 3 if report["gaps"] or any(f["status"] == "ERROR" for f in report["findings"]) else 0


def _denied_ops(baseline: CliRun, sim: Sim) -> list[str]:
    """kms.ListKeys (the reference collector) plus the first list call of iam and ec2 the clean scan made."""
    called = sorted({f"{r['service']}.{r['op']}" for r in sim.calls("baseline") if r["outcome"] == "ok"})
    ops = ["kms.ListKeys"]
    for prefix in ("iam.List", "ec2.Describe"):
        ops += [op for op in called if op.startswith(prefix)][:1]
    return [op for op in ops if op in called]


def test_access_denied_marks_exactly_the_checks_needing_the_action(sim: Sim, baseline: CliRun, tmp_path: Path):
    assert baseline.report is not None
    for op in _denied_ops(baseline, sim):
        service, name = op.split(".")
        action = iam_action(service, name)
        sim.reset_faults(f"deny-{op}")
        sim.config(deny=op)
        run = run_cli(sim, tmp_path / op)
        assert run.report is not None, f"{op}: {run.stderr}"
        both = common_checks(baseline.report, run.report)
        new_gaps = gap_keys(run.report, both) - gap_keys(baseline.report, both)
        assert new_gaps, f"denying {op} left no gap"
        named = [g for g in run.report["gaps"] if g["iam_action"] == action and g["error_code"] == "AccessDenied"]
        assert {(g["dataset"], g["region"], g["operation"], g["error_code"]) for g in named} >= new_gaps
        hit = {g["dataset"] for g in named}
        # The collector refuses to call an action it did not declare for the dataset (CollectContext._declared),
        # so the checks needing a gapped dataset are exactly the checks needing the action.
        affected = {c["id"] for c in run.report["checks"] if hit & set(c["needs"])}
        assert affected, f"no check needs the datasets {sorted(hit)}"
        base, got = _by_check(baseline.report, both), _by_check(run.report, both)
        for check_id in sorted(set(base) | set(got)):
            if check_id in affected:
                errors = [f for f in run.report["findings"] if f["check_id"] == check_id and f["status"] == "ERROR"]
                assert any(action in f["message"] for f in errors), f"{check_id} does not name {action}"
            else:
                assert got.get(check_id) == base.get(check_id), f"{check_id} changed when {op} was denied"
        assert run.code == _expected_exit(run.report), run.stderr


def test_access_denied_alone_exits_3(sim: Sim, baseline: CliRun, tmp_path: Path):
    """Only the affected checks plus checks that passed cleanly: no failure remains, so the exit is 3."""
    assert baseline.report is not None
    clean = [cid for cid, vs in _by_check(baseline.report).items()
             if not cid.startswith("manual.") and all(s in ("PASS", "NOT_APPLICABLE") for s in vs.values())]
    chosen = sorted(set(clean) | {c for c in _checks_needing("kms:ListKeys") if c.startswith("kms.")})
    sim.reset_faults("deny-exit3")
    sim.config(deny="kms.ListKeys")
    run = run_cli(sim, tmp_path / "out", "--checks", ",".join(chosen))
    assert run.report is not None, run.stderr
    assert not [f for f in run.report["findings"] if f["status"] == "FAIL"]
    assert any(f["status"] == "ERROR" and "kms:ListKeys" in f["message"] for f in run.report["findings"])
    assert run.code == 3, run.stderr


def test_five_percent_500s_are_retried_and_change_nothing(sim: Sim, baseline: CliRun, tmp_path: Path):
    assert baseline.report is not None
    sim.reset_faults("errors500")
    sim.config(error_rate=0.05)
    run = run_cli(sim, tmp_path / "out", attempts=None)  # the auditor's own retry policy is what is drilled
    assert run.report is not None, run.stderr
    calls = sim.calls("errors500")
    if len(calls) >= 100:
        assert any(r["outcome"] == "error500" for r in calls), "no 500 was injected; the drill proved nothing"
    both = common_checks(baseline.report, run.report)
    assert verdicts(run.report, both) == verdicts(baseline.report, both)
    # Same reads failed (moto's unimplemented operations); the last answer may be moto's 500 or an injected one.
    assert {g[:3] for g in gap_keys(run.report, both)} == {g[:3] for g in gap_keys(baseline.report, both)}
    assert run.code == baseline.code


def _region_scoped(baseline: CliRun, run: CliRun, bad: str) -> None:
    assert baseline.report is not None and run.report is not None
    both = common_checks(baseline.report, run.report)
    before, after = verdicts(baseline.report, both), verdicts(run.report, both)
    for key, status in after.items():
        if key[1] == bad:
            assert status == "ERROR", f"{key} in {bad} is {status}, not ERROR"
        elif key[1] != "global":
            assert before.get(key) == status, f"{key} changed from {before.get(key)} to {status}"
        elif status != before.get(key):  # an account-level conclusion drawn from every region
            assert status == "ERROR", f"{key} changed from {before.get(key)} to {status}"
    # An account-level ("global") verdict drawn from every region, or a "no resources in scope" placeholder,
    # gives way to the ERROR of the region that could not be read.
    errored = {k[0] for k, s in after.items() if s == "ERROR" and k[1] == bad}
    missing = [k for k in before if k not in after and k[1] != bad
               and not ((k[1] == "global" or before[k] == "NOT_APPLICABLE") and k[0] in errored)]
    assert not missing, f"findings lost outside {bad}: {missing[:5]}"
    if not any(k[1] == bad for k in after):  # skipped instead of ERROR: it must say why
        assert any(bad in w for w in run.report.get("warnings", [])), f"{bad} vanished without a reason"
    new = gap_keys(run.report, both) - gap_keys(baseline.report, both)
    assert all(g[1] == bad for g in new), new


def test_region_not_enabled_is_error_there_and_intact_elsewhere(sim: Sim, baseline: CliRun, tmp_path: Path):
    sim.reset_faults("disabled-region")
    sim.app.region_faults["eu-west-1"] = "disabled"
    run = run_cli(sim, tmp_path / "out", timeout=90)
    _region_scoped(baseline, run, "eu-west-1")
    assert all(g["error_code"] == "RegionUnavailable" for g in run.report["gaps"] if g["region"] == "eu-west-1")
    assert run.code in (1, 3)


def test_unreachable_region_does_not_stall_the_scan(sim: Sim, baseline: CliRun, tmp_path: Path):
    sim.reset_faults("unreachable-region")
    sim.app.region_faults["eu-west-1"] = "drop"
    run = run_cli(sim, tmp_path / "out", timeout=180, attempts=None)  # connection errors retry by the default policy
    _region_scoped(baseline, run, "eu-west-1")
    network = {"Unreachable", "ConnectionClosedError", "EndpointConnectionError", "ReadTimeoutError"}
    codes = {g["error_code"] for g in run.report["gaps"] if g["region"] == "eu-west-1"}
    assert codes <= network, f"the reason should be the network, not a crash: {sorted(codes)}"
    limit = max(60.0, 3 * baseline.seconds)
    assert run.seconds < limit, f"an unreachable region held the scan for {run.seconds:.0f}s (clean: " \
                                f"{baseline.seconds:.0f}s)"


def test_slow_region_does_not_hold_the_pool(sim: Sim, baseline: CliRun, tmp_path: Path):
    sim.reset_faults("slow-region")
    sim.app.region_faults["eu-west-1"] = "slow:1.0"
    run = run_cli(sim, tmp_path / "out", timeout=180)
    assert run.report is not None and baseline.report is not None, run.stderr
    both = common_checks(baseline.report, run.report)
    assert verdicts(run.report, both) == verdicts(baseline.report, both)  # slow is not broken
    healthy = [r["t"] for r in sim.calls("slow-region") if r["region"] != "eu-west-1"]
    ref = [r["t"] for r in sim.calls("baseline") if r["region"] != "eu-west-1"]
    slow = [r["t"] for r in sim.calls("slow-region") if r["region"] == "eu-west-1"]
    healthy_span, ref_span = max(healthy) - min(healthy), max(ref) - min(ref)
    assert max(slow) > max(healthy), "the slow region was not slower; the drill proved nothing"
    assert healthy_span <= max(3 * ref_span, ref_span + 4), \
        f"healthy regions took {healthy_span:.1f}s next to a slow one (alone: {ref_span:.1f}s)"


class _FakeFetcher:
    """Stands in for AssumeRoleCredentialFetcher: each fetch mints new keys valid one hour from the fake clock."""

    fetched: list[str] = []
    clock: list[datetime] = []

    def __init__(self, **_: Any) -> None:
        pass

    def fetch_credentials(self) -> dict[str, str]:
        key = f"ASIAFAKE{len(self.fetched) + 1:04d}"
        self.fetched.append(key)
        return {"access_key": key, "secret_key": "fake-secret", "token": f"token-{key}",
                "expiry_time": (self.clock[0] + timedelta(hours=1)).isoformat()}


def test_assumed_role_credentials_are_refreshed_mid_scan(sim: Sim, account: dict[str, int],
                                                         monkeypatch: pytest.MonkeyPatch):
    from auditor import session as session_mod

    sim.reset_faults("refresh")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)
    _FakeFetcher.fetched, _FakeFetcher.clock = [], [datetime.now(timezone.utc)]
    monkeypatch.setattr(session_mod, "AssumeRoleCredentialFetcher", _FakeFetcher)
    base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    sess = session_mod.AuditSession(role_arn="arn:aws:iam::123456789012:role/auditor", boto_session=base,
                                    region="us-east-1", workers=4, max_attempts=2)
    sess.boto._session._credentials._time_fetcher = lambda: _FakeFetcher.clock[0]
    used: list[str] = []

    def record(request: Any, **_: Any) -> None:
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        used.append(auth.split("Credential=")[1].split("/")[0])
        if len(used) == 3:  # two hours pass mid-scan: the first keys are now expired
            _FakeFetcher.clock[0] += timedelta(hours=2)

    sess.boto._session.register("before-send", record)
    cfg = AuditConfig(workers=4)
    specs = select_checks(["kms.*"])
    inv = collect(sess, specs, REGIONS, cfg)
    result = build_result(inv, specs, cfg, inv.collected_at, include_manual=False)
    assert len(used) > 3
    assert len(_FakeFetcher.fetched) >= 2, "credentials were never refreshed"
    assert _FakeFetcher.fetched[0] not in used[3:], "expired keys were still used after the clock moved"
    assert not result.gaps
    assert all(f.status is not Status.ERROR for f in result.findings)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupt_mid_scan_keeps_the_previous_report(sim: Sim, baseline: CliRun, tmp_path: Path, signum: int):
    out = tmp_path / "out"
    out.mkdir()
    good = out / "report.json"
    good.write_text('{"previous": "good report"}\n', encoding="utf-8")
    before = sorted(p.name for p in out.iterdir())
    phase = f"interrupt-{signum}"
    sim.reset_faults(phase)
    sim.config(latency_ms=150)
    proc = subprocess.Popen([sys.executable, "-c", BOOT, "scan", "--regions", ",".join(REGIONS), "--output-dir",
                             str(out), "--format", "json", "--quiet", *retries_config(tmp_path, 3)],
                            env=cli_env(sim.url), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(sim.calls(phase)) < 10 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the scan ended before it could be interrupted"
        sent = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sim.config(latency_ms=0)
    assert proc.returncode != 0, err
    assert good.read_text(encoding="utf-8") == '{"previous": "good report"}\n'
    assert sorted(p.name for p in out.iterdir()) == before, "a partial or temporary file was left behind"
    assert waited < 30, f"the scan took {waited:.0f}s to stop after the signal"
