"""Amazon Inspector (v2) account status per region, and whether ECR repositories / Lambda functions exist.

Inspector must scan ECR and Lambda only where such resources exist, so existence is probed (one single-item
page each) only in a region where Inspector is on but that resource type's scanning is not.
"""
from __future__ import annotations

from typing import Any

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen

STATUS = "inspector.status"
WORKLOADS = "inspector.workloads"

SCAN_TYPES = ("ec2", "ecr", "lambda")


class InspectorStatus(Frozen):
    region: str
    state: str | None = None  # ENABLED / DISABLED / ENABLING / ...; None when Inspector reported a failure
    resources: dict[str, str] = {}  # ec2 / ecr / lambda / lambdaCode -> status
    error: str = ""  # failedAccounts entry for this account


class Workloads(Frozen):
    """Whether the region holds resources Inspector could scan. None: not probed or not readable (see gaps)."""

    region: str
    ecr_repositories: bool | None = None
    lambda_functions: bool | None = None


class InspectorSection(Section):
    statuses: list[InspectorStatus] = []
    workloads: list[Workloads] = []


@collector("inspector", service="inspector2", section=InspectorSection, regional=True, datasets={
    STATUS: ("inspector2:BatchGetAccountStatus",),
    WORKLOADS: ("ecr:DescribeRepositories", "lambda:ListFunctions"),
})
def collect_inspector(ctx: CollectContext) -> InspectorSection:
    resp = ctx.call(STATUS, ctx.client(), "batch_get_account_status", accountIds=[ctx.account_id])
    if resp is None:
        return InspectorSection()
    status = _status(ctx, resp)
    if status.state != "ENABLED":
        return InspectorSection(statuses=[status])
    probes: dict[str, Any] = {}
    if status.resources.get("ecr") != "ENABLED":
        got = ctx.call(WORKLOADS, ctx.client("ecr"), "describe_repositories", maxResults=1)
        probes["ecr_repositories"] = None if got is None else bool(got.get("repositories"))
    if status.resources.get("lambda") != "ENABLED":
        got = ctx.call(WORKLOADS, ctx.client("lambda"), "list_functions", MaxItems=1)
        probes["lambda_functions"] = None if got is None else bool(got.get("Functions"))
    return InspectorSection(statuses=[status], workloads=[Workloads(region=ctx.region, **probes)])


def _status(ctx: CollectContext, resp: dict[str, Any]) -> InspectorStatus:
    mine = next((a for a in resp.get("accounts", []) if a.get("accountId") == ctx.account_id), None)
    if mine is not None:
        return InspectorStatus(region=ctx.region, state=(mine.get("state") or {}).get("status", ""),
                               resources={k: str(v.get("status", "")) for k, v in
                                          sorted((mine.get("resourceState") or {}).items()) if isinstance(v, dict)})
    failed = next((a for a in resp.get("failedAccounts", []) if a.get("accountId") == ctx.account_id), None)
    if failed is not None:
        why = f"{failed.get('errorCode', '')}: {failed.get('errorMessage', '')}"
        return InspectorStatus(region=ctx.region, error=why)
    # AWS always answers for the caller; moto omits an account that never enabled Inspector.
    return InspectorStatus(region=ctx.region, state="DISABLED")
