"""simaws (../shared/tools/simaws.py) plus a digest of each request's parameters in its log line.

simaws logs (service, region, operation, outcome) but not the parameters, so "the same call twice" cannot be told
from "the same operation on two resources". This wrapper adds `params`: a hash of everything that identifies the
request (method, host, path, query, body, parameter-bearing x-amz-* headers) and nothing that changes per send
(dates, signatures, SDK invocation ids). It never edits simaws; it subclasses it.

Run:  python benchmarks/simlog.py --port 0 --log calls.jsonl   (prints "simaws on http://127.0.0.1:PORT")
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import pickle
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from types import ModuleType
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[1]
_VOLATILE_HEADERS = {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "x-amz-user-agent"}


def load_simaws() -> ModuleType:
    """The shared simulator module: $SIMAWS, else ../shared/tools/simaws.py beside the repository."""
    path = Path(os.environ.get("SIMAWS") or ROOT.parent / "shared" / "tools" / "simaws.py")
    if not path.is_file():
        raise FileNotFoundError(f"simaws not found at {path} (set SIMAWS=/path/to/simaws.py)")
    spec = importlib.util.spec_from_file_location("simaws", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("simaws", module)
    spec.loader.exec_module(module)
    return module


simaws = load_simaws()
_local = threading.local()
RAISED = "raised"  # the status recorded when moto raised instead of answering


def request_digest(environ: dict[str, Any], body: bytes) -> str:
    query = urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    query = sorted((k, v) for k, v in query if not k.startswith("X-Amz-"))
    headers = sorted((k[5:].lower().replace("_", "-"), v) for k, v in environ.items()
                     if k.startswith("HTTP_X_AMZ_") and k[5:].lower().replace("_", "-") not in _VOLATILE_HEADERS)
    host = environ.get("HTTP_HOST", "").rsplit(":", 1)[0]  # without the port: a replay serves on another one
    h = hashlib.sha1()
    for part in (environ.get("REQUEST_METHOD", ""), host, environ.get("PATH_INFO", ""),
                 json.dumps(query), json.dumps(headers)):
        h.update(part.encode() + b"\0")
    h.update(body)
    return h.hexdigest()[:16]


class _TaggedLog:
    """Holds the line simaws writes for the current request (one request per server thread) until the answer's
    HTTP status is known, then writes it with `params`, `status` and `cpu_ms` added. simaws logs moto's own 500s
    (its unimplemented operations) as outcome "ok"; the status tells them apart from answers. `cpu_ms` is the
    thread's CPU time for the request: what moto spent answering it, which bounds a scan on a small machine."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def write(self, line: str) -> int:
        _local.pending = json.loads(line)
        return len(line)

    def commit(self, status: int | None, cpu_ms: float) -> None:
        record = getattr(_local, "pending", None)
        _local.pending = None
        if record is not None:
            record["params"] = getattr(_local, "digest", None)
            record["status"] = status
            record["cpu_ms"] = round(cpu_ms, 2)
            self.inner.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        self.inner.flush()


class ParamSimulator(simaws.Simulator):
    """simaws plus parameter digests, and a recorder of answers for benchmarks/replay.py.

    GET /__replay/record?path=FILE starts recording every answer of the current phase (status, headers, body by
    request digest and by operation); GET /__replay/save writes them to FILE (pickle) and stops.
    """

    def __init__(self, log_path: str, config: Any) -> None:
        super().__init__(log_path, config)
        self.log = _TaggedLog(self.log)
        self.recording: dict[str, Any] | None = None
        self.record_path = ""
        self.record_lock = threading.Lock()

    def _replay_control(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        qs = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        with self.record_lock:
            if environ["PATH_INFO"] == "/__replay/record":
                self.recording, self.record_path = {"by_digest": {}, "by_op": {}}, qs["path"][0]
                answer = {"recording": True}
            else:
                saved = self.recording or {"by_digest": {}, "by_op": {}}
                with open(self.record_path, "wb") as fh:
                    pickle.dump(saved, fh)
                answer = {"saved": len(saved["by_digest"]), "path": self.record_path}
                self.recording = None
        payload = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    def _record(self, environ: dict[str, Any], body: bytes, status: str, headers: list[tuple[str, str]],
                chunks: list[bytes]) -> None:
        service, region, op, _ = simaws.identify(environ, body)
        answer = (status, [(k, v) for k, v in headers if k.lower() not in ("content-length", "connection", "date")],
                  b"".join(chunks))
        with self.record_lock:
            if self.recording is not None:
                # The digest leaves the region out (one endpoint URL serves all; the region is in the signature).
                self.recording["by_digest"][(region, _local.digest)] = answer
                self.recording["by_op"].setdefault((service, region, op), []).append(answer)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith("/__replay/"):
            return self._replay_control(environ, start_response)
        cpu = time.thread_time()  # this request's own CPU (moto answering it), not the latency sleep
        body = b""
        if not environ.get("PATH_INFO", "").startswith("/__sim/"):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            _local.digest = request_digest(environ, body)
        seen: list[int] = []
        sent: list[tuple[str, list[tuple[str, str]]]] = []

        def recording_start_response(status: str, headers: Any, *exc: Any) -> Any:
            seen.append(int(status.split()[0]))
            sent.append((status, list(headers)))
            return start_response(status, headers, *exc)

        recording = self.recording is not None and not environ.get("PATH_INFO", "").startswith("/__sim/")
        try:
            try:
                chunks = super().__call__(environ, recording_start_response)
            except Exception:  # moto's unimplemented operations raise; the server's answer to that is replayed too
                if recording:
                    self._record(environ, body, RAISED, [], [])
                raise
            if recording and sent:
                chunks = list(chunks)
                self._record(environ, body, *sent[0], chunks)
            return chunks
        finally:
            self.log.commit(seen[0] if seen else None, (time.thread_time() - cpu) * 1000)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def serve(log_path: str, port: int = 0, host: str = "127.0.0.1") -> tuple[Any, Any, int]:
    """Start in a daemon thread on loopback; returns (server, config, port)."""
    config = simaws.Config()
    server = make_server(host, port, ParamSimulator(log_path, config), threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="simaws").start()
    return server, config, server.server_address[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    server, _, port = serve(args.log, args.port)
    serve_until_interrupted(server, f"simaws on http://127.0.0.1:{port}")


def serve_until_interrupted(server: Any, banner: str) -> None:
    """Print the banner the benchmark reads the URL from, then serve until Ctrl-C."""
    print(banner, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
