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


def test_the_lean_server_digests_requests_as_werkzeug_did_when_they_were_recorded(modules):
    """Answers were recorded under werkzeug's WSGI environ; the replay's own HTTP front must build the same
    digest from the same bytes on the wire, or every request would miss."""
    import http.client
    import threading

    from werkzeug.serving import make_server

    replay, simlog, _, _ = modules

    def digest_app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['REQUEST_METHOD']} {simlog.request_digest(environ, body)}".encode()]

    werkzeug_server = make_server("127.0.0.1", 0, digest_app, threaded=True)
    lean_server = replay._Server(0, digest_app)
    for server in (werkzeug_server, lean_server):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    requests = [
        ("GET", "/my%20bucket/?acl", b"", {}),
        ("GET", "/?list-type=2&prefix=a%2Fb&X-Amz-Date=20261126T000000Z", b"", {"x-amz-expected-bucket-owner": "1"}),
        ("POST", "/", b"Action=DescribeInstances&Version=2016-11-15",
         {"Content-Type": "application/x-www-form-urlencoded"}),
        ("POST", "/", b"{}", {"X-Amz-Target": "TrentService.ListKeys", "X-Amz-Date": "20261126T000000Z"}),
        ("HEAD", "/b%C3%A9cket", b"", {}),
    ]
    try:
        for method, path, body, headers in requests:
            answers = []
            for server in (werkzeug_server, lean_server):
                conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
                conn.request(method, path, body=body, headers={"Host": "127.0.0.1:1234", **headers})
                response = conn.getresponse()
                answers.append((response.status, response.read()))
                conn.close()
            assert answers[0] == answers[1], (method, path)
    finally:
        werkzeug_server.shutdown()
        lean_server.shutdown()


def test_the_lean_server_keeps_connections_open_and_answers_moto_errors(modules, tmp_path):
    import http.client
    import pickle

    replay, simlog, _, EnvironBuilder = modules
    env = _request(EnvironBuilder, "eu-west-1", "ListKeys", b"{}").get_environ()
    digest = simlog.request_digest(env, b"{}")
    env2 = _request(EnvironBuilder, "eu-west-1", "ListAliases", b"{}").get_environ()
    recording = tmp_path / "rec.pickle"
    recording.write_bytes(pickle.dumps({"by_op": {}, "by_digest": {
        ("eu-west-1", digest): ("200 OK", [("Content-Type", "application/x-amz-json-1.1")], b'{"Keys": []}'),
        ("eu-west-1", simlog.request_digest(env2, b"{}")): (simlog.RAISED, [], b"")}}))
    server, port = replay.serve(recording, latency_ms=0)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for target, status, data in (("ListKeys", 200, b'{"Keys": []}'), ("ListAliases", 500, None),
                                     ("ListKeys", 200, b'{"Keys": []}')):
            conn.request("POST", "/", body=b"{}", headers={
                "Authorization": AUTH.format(region="eu-west-1"), "X-Amz-Target": f"TrentService.{target}",
                "Host": "127.0.0.1:1234"})
            response = conn.getresponse()
            assert response.status == status and (data is None or response.read() == data)
            response.read()
        assert conn.sock is not None  # one connection served all three
    finally:
        server.shutdown()
