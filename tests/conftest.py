"""Shared fixtures: dummy credentials, in-process moto, a guarded session, denial injection, a scan helper."""
from __future__ import annotations

import copy
import fnmatch
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
})
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws

from auditor.config import AuditConfig
from auditor.models import AuditResult, Finding, Status
from auditor.runner import build_result, collect, select_checks
from auditor.session import AuditSession
from auditor.slim_models import ForgetfulLoader, SlimJSONFileLoader

REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def aws_managed_policies() -> Iterator[None]:
    """moto with AWS-managed IAM policies loaded (AdministratorAccess, AWSSupportAccess, ...)."""
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield


class _KeepingLoader(ForgetfulLoader):
    def forget(self, service: str) -> None:
        pass


# Parsing botocore's service models costs ~0.5 s per new session; tests share one loader, which never forgets.
_LOADER = _KeepingLoader(file_loader=SlimJSONFileLoader())


def new_session(**kw: Any) -> AuditSession:
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return AuditSession(region="us-east-1", workers=4, max_attempts=2,
                        boto_session=boto3.Session(botocore_session=core, region_name="us-east-1"), **kw)


@pytest.fixture
def session(aws: None) -> AuditSession:
    return new_session()


def run_unit(session: AuditSession, name: str, region: str = "us-east-1") -> tuple[Any, Any]:
    """One collector unit, with the units it reads from (after=...) run first, as the runner would."""
    from auditor.collectors import COLLECTORS, CollectContext, load_collectors

    spec = load_collectors().get(name)
    upstream = {}
    for up in spec.after:
        section, ctx = run_unit(session, up, region if COLLECTORS.get(up).regional else "global")
        upstream[up] = (section, ctx.gaps)
    ctx = CollectContext(session, spec, region, ACCOUNT, "aws", upstream=upstream)
    return spec.fn(ctx), ctx


def recorded(session: AuditSession, operation: str, answer: Any, region: str | None = None) -> list[dict]:
    """Answer `service.Operation` with a recorded response instead of moto (for APIs moto lacks or fixes).

    `answer` is the parsed response dict, an exception to raise, or a callable of the request body (a dict for
    JSON protocols, {} otherwise) giving either. botocore skips the HTTP request when a before-call handler
    returns (http_response, parsed). Returns the request bodies seen, so tests can assert on parameters.
    """
    service, op = operation.split(".")
    seen: list[dict] = []

    def respond(model: Any, params: dict, **_: Any) -> Any:
        if (model.service_model.service_name, model.name) != (service, op):
            return None
        if region and region not in params.get("url", ""):
            return None
        body = params.get("body") or b""
        if isinstance(body, dict):  # query protocols (ec2, iam): form parameters, not yet encoded
            request = dict(body)
        else:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            request = json.loads(text) if text.lstrip().startswith("{") else {}
        seen.append(request)
        got = answer(request) if callable(answer) else answer
        if isinstance(got, Exception):
            raise got
        return AWSResponse(params.get("url", ""), 200, {}, None), copy.deepcopy(got)

    session.boto._session.register("before-call", respond)
    session._clients.clear()  # clients copy handlers at creation
    return seen


def client_error(code: str, message: str = "recorded", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "recorded")


def deny(session: AuditSession, *patterns: str, code: str = "AccessDenied") -> None:
    """Make every matching operation ('kms.GetKeyRotationStatus', 'kms.*') fail as AWS would."""
    def refuse(model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            raise ClientError({"Error": {"Code": code, "Message": f"denied {name} (test)"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, model.name)
    session.boto._session.register("before-call", refuse)
    session._clients.clear()  # clients copy handlers at creation


def scan(session: AuditSession, checks: list[str], regions: list[str] | None = None,
         cfg: AuditConfig | None = None) -> AuditResult:
    cfg = cfg or AuditConfig(workers=4)
    specs = select_checks(checks)
    assert specs, f"no check matched {checks}"
    inv = collect(session, specs, regions or ["us-east-1"], cfg)
    return build_result(inv, specs, cfg, inv.collected_at, include_manual=False)


def statuses(result: AuditResult, check_id: str) -> list[Status]:
    return [f.status for f in result.findings if f.check_id == check_id]


def only(result: AuditResult, check_id: str, **match: Any) -> list[Finding]:
    out = [f for f in result.findings if f.check_id == check_id]
    for k, v in match.items():
        out = [f for f in out if getattr(f, k) == v]
    return out


def future(days: int) -> AuditConfig:
    """A config whose clock is `days` in the future: moto cannot back-date, so we move 'now' instead."""
    return AuditConfig(workers=4, now=datetime.now(timezone.utc) + timedelta(days=days))
