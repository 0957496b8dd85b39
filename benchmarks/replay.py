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
import io
import json
import pickle
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import simlog
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import make_server

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


class _KeepAliveHandler(simlog.QuietHandler):
    protocol_version = "HTTP/1.1"  # with Content-Length on every answer, connections are reused as with AWS
    disable_nagle_algorithm = True  # else headers and body in two writes meet delayed ACKs: +40 ms per answer


def serve(recording: Path, latency_ms: float, port: int = 0, log: Path | None = None) -> tuple[Any, int]:
    with recording.open("rb") as fh:
        app = Replay(pickle.load(fh), latency_ms, log)  # our own file, written by simlog.py
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_KeepAliveHandler)
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
