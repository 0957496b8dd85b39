"""End to end: the real CLI as a subprocess against a moto server through AWS_ENDPOINT_URL.

Proves, from the server's own request log, that the scan makes zero write calls, that every call is inside
`auditor policy`, and that no call is repeated with the same parameters.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections import Counter

import boto3
import botocore.exceptions
import botocore.session
import pytest
from moto.server import ThreadedMotoServer

from auditor.guard import iam_action, is_read

REGIONS = "us-east-1,eu-west-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from moto.moto_api import recorder

    recording = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    recorder._location = str(recording)  # the singleton read its path at import; point it at tmp
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    yield f"http://{host}:{port}", recording
    srv.stop()


def _client(url, service, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=url)


def _populate(url):
    for region in REGIONS.split(","):
        kms = _client(url, "kms", region)
        kms.create_key()
        kms.enable_key_rotation(KeyId=kms.create_key()["KeyMetadata"]["KeyId"])


def _moto_api(url, path):
    req = urllib.request.Request(f"{url}/moto-api/recorder/{path}", method="POST" if "start" in path else "GET")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read().decode()


def _rest_operation(service, method, url):
    """A REST request's operation by its method and URI (account:GetAlternateContact is POST /getAlternateContact)."""
    if service in ("s3", "?"):
        return None
    try:
        model = botocore.session.get_session().get_service_model(service)
    except botocore.exceptions.UnknownServiceError:
        return None
    path = urllib.parse.urlparse(url).path
    for name in model.operation_names:
        http = model.operation_model(name).http
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(http.get("requestUri", "").split("?")[0]))
        if http.get("method") == method and re.fullmatch(pattern, path):
            return name
    return None


def _operations(recording_text):
    """(service, region, operation, params-key) for each recorded request."""
    ops = []
    for line in recording_text.splitlines():
        rec = json.loads(line)
        headers = {k.lower(): v for k, v in rec.get("headers", {}).items()}
        cred = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", headers.get("authorization", ""))
        region, service = cred.groups() if cred else ("?", "?")
        body = rec.get("body") or ""
        if rec.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        target = headers.get("x-amz-target")
        if target:
            op = target.split(".")[-1]
        else:
            op = (urllib.parse.parse_qs(body).get("Action", [None])[0]
                  or _rest_operation(service, rec.get("method", "?"), rec.get("url", ""))
                  or rec.get("method", "?") + " " + rec.get("url", ""))
        ops.append((service, region, op, body + rec.get("url", "")))
    return ops


def test_cli_scan_against_moto_server(server, tmp_path):
    url, recording = server
    _populate(url)
    _moto_api(url, "start-recording")
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env.pop("AWS_PROFILE", None)
    proc = subprocess.run([sys.executable, "-m", "auditor", "scan", "--regions", REGIONS, "--output-dir",
                           str(tmp_path), "--format", "json"], env=env, capture_output=True, text=True, timeout=300)
    _moto_api(url, "stop-recording")
    assert proc.returncode in (1, 3), proc.stderr  # the account has failing findings (and moto gaps)
    assert "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["regions"] == sorted(REGIONS.split(","))
    assert {f["status"] for f in report["findings"] if f["check_id"] == "kms.cmk-rotation"} >= {"PASS", "FAIL"}

    ops = _operations(recording.read_text())
    assert ops, "the moto recorder saw no request"
    # 1. zero writes (rest-style S3 requests are recorded by HTTP method)
    writes = [o for o in ops if not (is_read(o[0], o[2]) or o[2].split(" ")[0] in ("GET", "HEAD"))]
    assert writes == []
    # 2. every call is inside the published policy
    policy = json.loads(subprocess.run([sys.executable, "-m", "auditor", "policy"], capture_output=True,
                                       text=True, check=True).stdout)
    allowed = set(policy["Statement"][0]["Action"])
    query_ops = {(s, o) for s, _, o, _ in ops if " " not in o}
    outside = sorted(iam_action(s, o) for s, o in query_ops if iam_action(s, o) not in allowed)
    assert outside == []
    # 3. no call repeated with the same parameters, except retries of a call that failed (the report's gaps
    #    name them: moto answers operations it lacks with HTTP 500, which botocore rightly retries)
    failed = {(g["service"], g["operation"]) for g in report["gaps"]}
    signing = {"monitoring": "cloudwatch"}
    repeated = [k for k, n in Counter(ops).items() if n > 1 and (signing.get(k[0], k[0]), k[2]) not in failed]
    assert repeated == [], [(s, r, o) for s, r, o, _ in repeated]
    # the report's own call counter agrees with the server on every call that succeeded first time
    counted: Counter = Counter()
    for key, n in report["api_calls"].items():
        service, _, op = key.split(":")
        counted[(service, op)] += n
    seen = Counter((signing.get(s, s), o) for s, _, o, _ in ops)
    identified = {k for k in seen if " " not in k[1]}  # S3's REST calls stay unnamed here
    assert {k: n for k, n in counted.items() if k not in failed and k in identified} == \
        {k: n for k, n in seen.items() if k not in failed and k in counted}
