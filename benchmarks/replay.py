"""Replays answers simlog.py recorded from simaws, with latency and almost no CPU: the endpoint for measuring
the scan itself against the latency bound.

simaws is moto, and moto spends ~3 ms of CPU per answer in one process under one GIL; on a 2-core machine that
(not latency, not the scan) sets the pace: a scan can not beat simaws's CPU time. AWS costs a client latency
only. This server answers each request with the bytes moto gave to the identical request (same digest as
simlog.py's repeated-call check) after `latency_ms`, over keep-alive connections as AWS does. A request never
recorded (one whose parameters hold the clock, e.g. a LookupEvents start time) gets the recorded answer of the
same operation in the same region when there is exactly one, else a 500; both are counted.

  python benchmarks/replay.py --recording rec.pickle --latency-ms 30   (prints "replay on http://127.0.0.1:PORT")
  GET /__replay/stats -> {"calls": N, "exact": N, "by_operation": N, "missed": N}
"""
from __future__ import annotations

import argparse
import http.server
import io
import json
import pickle
import re
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import simlog
from werkzeug.exceptions import InternalServerError

_SCOPE = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request")


class Replay:
    def __init__(self, recording: dict[str, Any], latency_ms: float, log: Path | None = None) -> None:
        self.log = log.open("a", encoding="utf-8") if log else None
        self.by_digest: dict[tuple[str, str], Any] = recording["by_digest"]
        self.by_op: dict[tuple[str, str, str], list[Any]] = recording["by_op"]
        self.latency = latency_ms / 1000.0
        self.stats: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("PATH_INFO") == "/__replay/stats":
            with self.lock:
                return self._send(start_response, "200 OK", [("Content-Type", "application/json")],
                                  json.dumps(dict(self.stats)).encode())
        arrived = time.time()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        # Region and service from the signature's credential scope; simaws.identify names the operation, but
        # for REST services it loads botocore models (seconds on first use), so only misses pay for it.
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        region, service = scope.groups() if scope else ("?", "?")
        op = "-"
        answer, how = self.by_digest.get((region, simlog.request_digest(environ, body))), "exact"
        if answer is None:
            service, region, op, _ = simlog.simaws.identify(environ, body)
            same_op = self.by_op.get((service, region, op), [])
            answer, how = (same_op[0], "by_operation") if len(same_op) == 1 else (None, "missed")
        with self.lock:
            self.stats["calls"] += 1
            self.stats[how] += 1
            if how != "exact":
                self.stats[f"{how} {service}.{op} {region}"] += 1
        time.sleep(self.latency)
        if self.log:
            with self.lock:
                self.log.write(json.dumps({"t": round(time.time(), 4), "arrived": round(arrived, 4),
                                           "service": service, "region": region,
                                           "op": op, "how": how}) + "\n")
                self.log.flush()
        if answer is None:
            return self._send(start_response, "500 Internal Server Error", [], b"not recorded")
        status, headers, payload = answer
        if status == simlog.RAISED:  # moto raised here when recorded: answer as werkzeug did then
            return InternalServerError()(environ, start_response)
        return self._send(start_response, status, headers, payload)

    @staticmethod
    def _send(start_response: Any, status: str, headers: list[tuple[str, str]], payload: bytes) -> list[bytes]:
        start_response(status, [*headers, ("Content-Length", str(len(payload)))])
        return [payload]


class _Handler(http.server.BaseHTTPRequestHandler):
    """A minimal HTTP/1.1 front for the WSGI app: werkzeug's server costs ~2 ms more per answer under 16
    concurrent clients (34.6 vs 32.5 ms per call at 30 ms latency, measured with botocore as the client),
    which is the simulator's overhead, not AWS behaviour. Answers go out in one write, connections stay open."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body in two writes meet delayed ACKs: +40 ms per answer

    def log_message(self, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host, port = self.server.server_address[:2]
        # The WSGI keys werkzeug sets that simlog's digest and simaws.identify read; PATH_INFO is unquoted and
        # held as latin-1, as WSGI (and werkzeug, when the answers were recorded) has it.
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "PATH_INFO": urllib.parse.unquote(path, encoding="latin-1"),
            "QUERY_STRING": query, "RAW_URI": self.path, "REQUEST_URI": self.path, "SERVER_NAME": host,
            "SERVER_PORT": str(port), "SERVER_PROTOCOL": self.request_version, "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(length)}
        for key, value in self.headers.items():
            name = key.upper().replace("-", "_")
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = "HTTP_" + name
            environ[name] = value
        answer: list[Any] = []
        payload = b"".join(self.server.app(environ, lambda status, headers, exc_info=None: answer.extend(
            (status, headers))))
        status, headers = answer
        lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers if k.lower() != "content-length"),
                 f"Content-Length: {len(payload)}", "", ""]
        self.wfile.write("\r\n".join(lines).encode("latin-1") + (b"" if self.command == "HEAD" else payload))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, app: Replay) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.app = app


def serve(recording: Path, latency_ms: float, port: int = 0, log: Path | None = None) -> tuple[Any, int]:
    with recording.open("rb") as fh:
        app = Replay(pickle.load(fh), latency_ms, log)  # our own file, written by simlog.py
    server = _Server(port, app)
    threading.Thread(target=server.serve_forever, daemon=True, name="replay").start()
    return server, server.server_address[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recording", type=Path, required=True)
    ap.add_argument("--latency-ms", type=float, default=30.0)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", type=Path, help="append one JSON line per call (time, service, region, operation)")
    args = ap.parse_args()
    server, port = serve(args.recording, args.latency_ms, args.port, args.log)
    simlog.serve_until_interrupted(server, f"replay on http://127.0.0.1:{port}")


if __name__ == "__main__":
    main()
