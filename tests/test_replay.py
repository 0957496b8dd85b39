"""benchmarks/replay.py answers like the simaws it recorded (the benchmark's engine-only endpoint)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIMAWS = ROOT.parent / "shared" / "tools" / "simaws.py"
pytestmark = pytest.mark.skipif(not SIMAWS.is_file(), reason="simaws not found beside the repository")
AUTH = "AWS4-HMAC-SHA256 Credential=testing/20261126/{region}/kms/aws4_request, SignedHeaders=host, Signature=x"


@pytest.fixture(scope="module")
def modules():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import replay
        import simlog
        from werkzeug.test import Client, EnvironBuilder
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return replay, simlog, Client, EnvironBuilder


def _request(builder, region: str, target: str, body: bytes):
    return builder(path="/", method="POST", data=body, headers={
        "Authorization": AUTH.format(region=region), "X-Amz-Target": f"TrentService.{target}",
        "Host": "127.0.0.1:1234"})


def test_exact_answer_then_fallback_then_miss(modules):
    replay, simlog, Client, EnvironBuilder = modules
    list_keys = _request(EnvironBuilder, "eu-west-1", "ListKeys", b"{}").get_environ()
    digest = simlog.request_digest(list_keys, b"{}")
    recorded = ("200 OK", [("Content-Type", "application/x-amz-json-1.1")], b'{"Keys": []}')
    clock_bound = ("200 OK", [], b'{"Events": []}')
    app = replay.Replay({"by_digest": {("eu-west-1", digest): recorded},
                         "by_op": {("kms", "eu-west-1", "ListAliases"): [clock_bound]}}, latency_ms=0)
    client = Client(app)

    same = client.open(_request(EnvironBuilder, "eu-west-1", "ListKeys", b"{}"))
    assert same.status_code == 200 and same.data == b'{"Keys": []}'
    other_region = client.open(_request(EnvironBuilder, "us-east-1", "ListKeys", b"{}"))
    assert other_region.status_code == 500  # the digest leaves the region out; the key does not
    by_op = client.open(_request(EnvironBuilder, "eu-west-1", "ListAliases", b'{"Limit": 1}'))
    assert by_op.data == b'{"Events": []}'
    assert app.stats["exact"] == 1 and app.stats["by_operation"] == 1 and app.stats["missed"] == 1


def test_an_answer_moto_raised_on_is_a_500_again(modules):
    replay, simlog, Client, EnvironBuilder = modules
    env = _request(EnvironBuilder, "eu-west-1", "ListKeys", b"{}").get_environ()
    app = replay.Replay({"by_digest": {("eu-west-1", simlog.request_digest(env, b"{}")): (simlog.RAISED, [], b"")},
                         "by_op": {}}, latency_ms=0)
    assert Client(app).open(_request(EnvironBuilder, "eu-west-1", "ListKeys", b"{}")).status_code == 500
