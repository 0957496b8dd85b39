"""Fault drills: simaws in a thread on a loopback port, a small synthetic account, the CLI as a subprocess.

simaws (../shared/tools/simaws.py, or $SIMAWS) gives latency, throttling, AccessDenied and 500s; `FaultSim` adds
region faults that simaws lacks: a region that is not enabled (answers like AWS does for an opted-out region), a slow
region, and an unreachable one (the connection is dropped).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIMAWS = Path(os.environ.get("SIMAWS") or ROOT.parent / "shared" / "tools" / "simaws.py")
REGIONS = ["us-east-1", "eu-west-1"]
SEED, SIZE = 3, 30

# s3control puts the account id in front of the endpoint host ("123456789012.127.0.0.1"); resolve it to loopback.
BOOT = """
import runpy, socket, sys
_gai = socket.getaddrinfo
def _loopback(host, *a, **k):
    if isinstance(host, str) and host.endswith(".127.0.0.1"):
        host = "127.0.0.1"
    return _gai(host, *a, **k)
socket.getaddrinfo = _loopback
runpy.run_module("auditor", run_name="__main__", alter_sys=True)
"""


def _load_simaws() -> Any:
    if not SIMAWS.is_file():
        pytest.skip(f"simaws not found at {SIMAWS}", allow_module_level=True)
    spec = importlib.util.spec_from_file_location("simaws", SIMAWS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


simaws = _load_simaws()
_REGION_RX = re.compile(r"Credential=[^/]+/\d+/([^/]+)/")


class FaultSim(simaws.Simulator):
    """simaws plus per-region faults: {"eu-west-1": "disabled" | "slow:<seconds>" | "drop"}."""

    def __init__(self, log_path: str, config: Any) -> None:
        super().__init__(log_path, config)
        self.region_faults: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        m = _REGION_RX.search(environ.get("HTTP_AUTHORIZATION", ""))
        fault = self.region_faults.get(m.group(1)) if m else None
        if fault is None or environ.get("PATH_INFO", "").startswith("/__sim/"):
            return super().__call__(environ, start_response)
        if fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
            return super().__call__(environ, start_response)
        if fault == "drop":
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionResetError("drill: region unreachable")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        service, _, _, protocol = simaws.identify(environ, body)
        if protocol in ("json", "cbor", "rest-json"):
            code, status = "UnrecognizedClientException", 400
        else:
            code, status = ("AuthFailure" if service == "ec2" else "InvalidClientTokenId"), 403
        status, headers, payload = simaws.error_response(protocol, service, status, code,
                                                         "The security token included in the request is invalid.")
        start_response(f"{status} Error", headers + [("Content-Length", str(len(payload)))])
        return [payload]


@dataclass
class Sim:
    url: str
    log: Path
    app: FaultSim

    def config(self, **params: Any) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        with urllib.request.urlopen(f"{self.url}/__sim/config?{query}", timeout=10) as resp:
            return json.loads(resp.read())

    def reset_faults(self, phase: str) -> None:
        self.app.region_faults.clear()
        self.config(phase=phase, latency_ms=0, tps=0, deny="", error_rate=0)

    def calls(self, phase: str) -> list[dict[str, Any]]:
        with self.log.open(encoding="utf-8") as fh:
            return [row for row in map(json.loads, fh) if row["phase"] == phase]


@dataclass
class CliRun:
    code: int
    stderr: str
    report: dict[str, Any] | None
    seconds: float


def retries_config(directory: Path, attempts: int | None) -> list[str]:
    """--config with fewer attempts: moto answers its unimplemented operations with HTML 500s, which botocore retries
    with backoff; drills about something else need not wait for that. None keeps the auditor's default (8)."""
    if attempts is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"attempts-{attempts}.toml"
    path.write_text(f"max_attempts = {attempts}\n", encoding="utf-8")
    return ["--config", str(path)]


def run_cli(sim: Sim, out: Path, *args: str, timeout: float = 120, attempts: int | None = 3) -> CliRun:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", BOOT, "scan", "--regions", ",".join(REGIONS), "--output-dir",
                           str(out), "--format", "json", "--quiet", *retries_config(out.parent, attempts), *args],
                          env=cli_env(sim.url), cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    report = out / "report.json"
    data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
    return CliRun(proc.returncode, proc.stderr, data, time.monotonic() - start)


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=url, AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost",
               PYTHONPATH=str(ROOT))
    return env


def verdicts(report: dict[str, Any], only: set[str] | None = None) -> dict[tuple[str, str, str, str], str]:
    """(check, region, resource, subkey) -> status, optionally for the given check ids only."""
    return {(f["check_id"], f["region"], f["resource"]["arn"], f.get("subkey", "")): f["status"]
            for f in report["findings"] if only is None or f["check_id"] in only}


def common_checks(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    """Checks both reports ran: while other work adds checks to the tree, compare like with like."""
    return {c["id"] for c in a["checks"]} & {c["id"] for c in b["checks"]}


def gap_keys(report: dict[str, Any], checks: set[str] | None = None) -> set[tuple[str, str, str, str]]:
    """(dataset, region, operation, code) of each gap, optionally only for datasets the given checks need."""
    needed = None if checks is None else {d for c in report["checks"] if c["id"] in checks for d in c["needs"]}
    return {(g["dataset"], g["region"], g["operation"], g["error_code"]) for g in report["gaps"]
            if needed is None or g["dataset"] in needed}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *a: Any, **k: Any) -> None:
            pass

        def log_error(self, *a: Any, **k: Any) -> None:
            pass

    log = tmp_path_factory.mktemp("simaws") / "calls.jsonl"
    app = FaultSim(str(log), simaws.Config())
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    s = Sim(f"http://127.0.0.1:{server.server_address[1]}", log, app)
    # Backends are process-wide in moto: start from an empty account whatever ran before in this process.
    urllib.request.urlopen(urllib.request.Request(f"{s.url}/moto-api/reset", method="POST"), timeout=30).close()
    try:
        yield s
    finally:
        server.shutdown()
        app.log.close()


@pytest.fixture(scope="module")
def account(sim: Sim) -> dict[str, int]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    plan = generate.plan(SEED, SIZE, tuple(REGIONS))
    generate.Builder(sim.url).build(plan)
    return generate.manifest(plan)


@pytest.fixture(scope="module")
def baseline(sim: Sim, account: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """A clean scan of the account, after a warm-up scan: moto builds each (service, region) backend on first
    touch, which takes seconds and would make the baseline look slow."""
    out = tmp_path_factory.mktemp("baseline")
    sim.reset_faults("warmup")
    run_cli(sim, out, timeout=900)
    sim.reset_faults("baseline")
    run = run_cli(sim, out)
    assert run.report is not None, run.stderr
    assert run.code in (0, 1, 3), run.stderr
    return run

