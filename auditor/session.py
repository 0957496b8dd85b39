"""The one place AWS clients are made: credentials, role assumption, regions, and the read-only guard."""
from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from auditor import __version__
from auditor.errors import CredentialError
from auditor.guard import ReadOnlyViolation, is_read
from auditor.models import Identity
from auditor.slim_models import forget_model, use_slim_models
from auditor.timestamps import use_fast_timestamps

LOG = logging.getLogger(__name__)

_HOME_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}


def _refuse_writes(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    if not is_read(service, model.name):
        raise ReadOnlyViolation(f"refused {service}:{model.name}: the auditor only reads")


def prepare_session(session: botocore.session.Session) -> botocore.session.Session:
    # before-parameter-build fires before the request is serialized, signed or sent.
    session.register("before-parameter-build", _refuse_writes, unique_id="auditor-read-only-guard")
    use_slim_models(session)
    use_fast_timestamps(session)
    return session


class AuditSession:
    """Owns the boto3 session; every client comes from `client()` and carries the guard."""

    def __init__(self, *, profile: str | None = None, role_arn: str | None = None,
                 external_id: str | None = None, session_name: str = "auditor",
                 region: str | None = None, max_attempts: int = 8, retry_mode: str = "adaptive",
                 workers: int = 16, boto_session: boto3.Session | None = None) -> None:
        try:
            base = boto_session or boto3.Session(profile_name=profile, region_name=region)
        except BotoCoreError as exc:  # ProfileNotFound and friends
            raise CredentialError(str(exc)) from None
        prepare_session(base._session)
        if role_arn:
            base = self._assume(base, role_arn, external_id, session_name)
        self.boto = base
        self.home_region = region or base.region_name or "us-east-1"
        self.config = Config(retries={"mode": retry_mode, "max_attempts": max_attempts},
                             max_pool_connections=max(10, workers), user_agent_extra=f"auditor/{__version__}",
                             connect_timeout=10, read_timeout=30)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._making: dict[tuple[str, str], threading.Lock] = {}
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self._identity: Identity | None = None

    @staticmethod
    def _assume(base: boto3.Session, role_arn: str, external_id: str | None, name: str) -> boto3.Session:
        source = base.get_credentials()
        if source is None:
            raise CredentialError("no credentials found to assume the role with")
        extra: dict[str, Any] = {"RoleSessionName": name}
        if external_id:
            extra["ExternalId"] = external_id
        fetcher = AssumeRoleCredentialFetcher(client_creator=base._session.create_client,
                                              source_credentials=source, role_arn=role_arn, extra_args=extra)
        # Refreshable: long organization scans outlive a one-hour role session.
        creds = DeferredRefreshableCredentials(method="assume-role", refresh_using=fetcher.fetch_credentials)
        core = prepare_session(botocore.session.Session())
        core._credentials = creds
        return boto3.Session(botocore_session=core, region_name=base.region_name)

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.home_region
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                return client
            making = self._making.setdefault(key, threading.Lock())
        # Making a client parses its model (up to ~0.3 s for ec2): one lock per (service, region), so threads
        # that want clients which already exist, or other ones, do not queue behind it.
        with making:
            with self._lock:
                client = self._clients.get(key)
            if client is None:
                client = self.boto.client(service, region_name=region, config=self.config)
                client.meta.events.register("before-call", self._counter(region))
                with self._lock:
                    self._clients[key] = client
        return client

    def release(self, service: str, region: str, keep_model: bool = False) -> None:
        """Drop a client nothing will use again (a later `client()` makes a new one); with the service's last
        client, drop its models too, unless `keep_model` (a client for another region is still to come: loading
        a model again costs up to ~0.1 s of CPU). Clients are the largest part of a scan's memory: ~1 MB each."""
        with self._lock:
            self._clients.pop((service, region), None)
            if not keep_model and not any(s == service for s, _ in self._clients):
                forget_model(self.boto._session, service)

    def _counter(self, region: str) -> Any:
        def count(model: Any, **_: Any) -> None:
            with self._lock:
                self.calls[(model.service_model.service_name, region, model.name)] += 1
        return count

    def identity(self) -> Identity:
        if self._identity is None:
            try:
                resp = self.client("sts").get_caller_identity()
            except ClientError as exc:
                err = exc.response.get("Error", {})
                raise CredentialError(f"credentials rejected: {err.get('Code')}: {err.get('Message')}") from None
            except BotoCoreError as exc:
                raise CredentialError(str(exc)) from None
            arn = resp["Arn"]
            self._identity = Identity(account_id=resp["Account"], arn=arn, partition=arn.split(":")[1],
                                      user_id=resp.get("UserId", ""))
        return self._identity

    def known_regions(self) -> list[str]:
        part = self.identity().partition
        return sorted(self.boto.get_available_regions("ec2", partition_name=part))

    def enabled_regions(self) -> list[str]:
        """Regions enabled for the account (opted-in or not requiring opt-in)."""
        try:
            resp = self.client("ec2").describe_regions(AllRegions=False)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise CredentialError(f"cannot list enabled regions (ec2:DescribeRegions): {err.get('Code')}") from None
        return sorted(r["RegionName"] for r in resp["Regions"]
                      if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in")
