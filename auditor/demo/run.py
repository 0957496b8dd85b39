"""Run the demo: build the account in in-process moto, then hand back a normal AuditSession."""
from __future__ import annotations

import contextlib
import fnmatch
import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
import botocore.session
from botocore.exceptions import ClientError

from auditor.demo import DEMO_REGIONS, build_demo_account, fixtures
from auditor.session import AuditSession

_ENV = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_SESSION_TOKEN": "demo",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


@contextmanager
def demo_session() -> Iterator[tuple[AuditSession, list[str], list[str]]]:
    from moto import mock_aws

    logging.getLogger("moto").setLevel(logging.CRITICAL)  # e.g. "error running docker" for Lambda: not ours

    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL")}
    with mock.patch.dict(os.environ, {**env, **_ENV}, clear=True), mock_aws():
        # moto prints Docker noise while faking some services during setup; a newcomer should not see it.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ctx = build_demo_account()
        fixtures.patch_root_state()
        # Reuse the service models the setup already parsed (ec2's alone takes half a second).
        core = botocore.session.Session()
        core.register_component("data_loader", boto3._get_default_session()._session.get_component("data_loader"))
        session = AuditSession(region="us-east-1", max_attempts=2,
                               boto_session=boto3.Session(botocore_session=core, region_name="us-east-1"))
        # A real account always has something the auditor may not read (a key policy, an SCP); the demo
        # plants a few so the report shows what "could not read" looks like.
        session.boto._session.register("before-parameter-build", _denier(ctx.denied))
        session.boto._session.register("before-call", fixtures.answer)
        yield session, list(DEMO_REGIONS), ctx.notes


def _denier(denied: list[tuple[str, str]]) -> Any:
    def refuse(model: Any, params: dict[str, Any], **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        values = {str(v) for v in params.values()}
        if any(fnmatch.fnmatchcase(name, op) and value in values for op, value in denied):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "demo: not allowed by policy"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)
    return refuse
