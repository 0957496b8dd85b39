"""Tagging and infrastructure as code: required tag keys on every resource, and the share of resources an IaC
tool deployed (with CloudFormation stacks left in failed or rolled-back states)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.apigateway import HTTP_APIS, REST_APIS
from auditor.collectors.dynamodb import TABLES
from auditor.collectors.efs import FILE_SYSTEMS
from auditor.collectors.elbv2 import LOAD_BALANCERS
from auditor.collectors.lambda_ import FUNCTIONS as LAMBDA_FUNCTIONS
from auditor.collectors.lambda_ import TAGS as LAMBDA_TAGS
from auditor.collectors.logs import LOG_GROUPS
from auditor.collectors.rds import CLUSTERS, INSTANCES
from auditor.collectors.s3 import BUCKET_TAGS, BUCKETS
from auditor.collectors.secretsmanager import SECRETS
from auditor.collectors.sns import TOPICS
from auditor.collectors.sqs import QUEUES
from auditor.collectors.tagging import STACKS, TAGGED_RESOURCES
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Resource, Status
from auditor.registry import check

Tagged = tuple[str, Resource, dict[str, str] | None]  # kind, resource, tags (None: unreadable)


def tagged_resources(inv: Inventory) -> Iterator[Tagged]:
    """Every customer resource in scope with its tags: from its own listing where that carries them, else from
    the Tagging API (which lists only resources that have or had tags, so absent means untagged).

    AWS-created defaults (default VPCs and security groups) and AWS-managed KMS keys are out of scope."""
    found = {r.arn: r.tags for r in inv.tagging.resources}
    ec2 = inv.ec2
    yield from (("EC2 instance", i, i.tags) for i in ec2.instances if i.state not in ("shutting-down", "terminated"))
    yield from (("EBS volume", v, v.tags) for v in ec2.volumes)
    yield from (("security group", g, g.tags) for g in ec2.security_groups if g.name != "default")
    yield from (("VPC", v, v.tags) for v in ec2.vpcs if not v.is_default)
    yield from (("S3 bucket", b, b.tags) for b in inv.s3.buckets)
    yield from (("DB instance", d, d.tags) for d in inv.rds.instances)
    yield from (("DB cluster", c, c.tags) for c in inv.rds.clusters)
    yield from (("EFS file system", f, f.tags) for f in inv.efs.file_systems)
    yield from (("secret", s, s.tags) for s in inv.secretsmanager.secrets)
    yield from (("REST API", a, a.tags) for a in inv.apigateway.rest_apis)
    yield from (("HTTP/WebSocket API", a, a.tags) for a in inv.apigatewayv2.apis)
    yield from (("Lambda function", f, f.tags) for f in getattr(inv, "lambda").functions)
    listed: list[tuple[str, list[Any]]] = [
        ("KMS key", [k for k in inv.kms.keys if k.manager == "CUSTOMER" and k.state != "PendingDeletion"]),
        ("log group", inv.logs.log_groups), ("SNS topic", inv.sns.topics), ("SQS queue", inv.sqs.queues),
        ("DynamoDB table", inv.dynamodb.tables), ("load balancer", inv.elbv2.load_balancers)]
    for kind, records in listed:
        yield from ((kind, r, found.get(r.arn, {})) for r in records)


@check("tagging.required-keys", needs=(
        TAGGED_RESOURCES, "ec2.instances", "ec2.volumes", "ec2.security_groups", "ec2.vpcs", BUCKETS, BUCKET_TAGS,
        INSTANCES, CLUSTERS, FILE_SYSTEMS, SECRETS, REST_APIS, HTTP_APIS, "kms.keys", LOG_GROUPS, TOPICS, QUEUES,
        TABLES, LAMBDA_FUNCTIONS, LAMBDA_TAGS, LOAD_BALANCERS))
def required_keys(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Ownership, cost and automation all key off tags; a resource without them belongs to no one."""
    required = list(cfg.tag_policy_required_keys)
    if not required:
        return
    for kind, res, tags in tagged_resources(inv):
        label = f"{kind} {getattr(res, 'name', '') or res.id}"
        if tags is None:
            yield Finding.with_status(Status.ERROR, res, f"{label}: tags unreadable")
            continue
        missing = [k for k in required if k not in tags]
        empty = [k for k in required if k in tags and not tags[k].strip()]
        lower = {k.lower(): k for k in tags}
        evidence: dict[str, Any] = {"kind": kind, "required": required, "missing": missing, "empty": empty,
                                    "present": {k: tags[k] for k in required if k in tags}}
        miscased = {k: lower[k.lower()] for k in missing if k.lower() in lower}
        if miscased:
            evidence["differently_cased"] = miscased
        problems = ([f"lacks tag(s) {', '.join(missing)}"] if missing else []) + \
                   ([f"has empty tag(s) {', '.join(empty)}"] if empty else [])
        yield Finding.of(res, passed=not problems, evidence=evidence,
                         message=f"{label} {' and '.join(problems)}" if problems
                         else f"{label} carries every required tag ({', '.join(required)})")


def _marker(tags: dict[str, str], markers: list[str]) -> str | None:
    lowered = {k.lower(): v.lower() for k, v in tags.items()}
    for m in markers:
        key, sep, value = m.lower().partition("=")
        if key in lowered and (not sep or lowered[key] == value):
            return m
    return None


@check("iac.resources-managed-as-code", needs=(TAGGED_RESOURCES, STACKS))
def resources_managed_as_code(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Informational: the share of tagged resources an IaC tool deployed, and stacks stuck after a failure.

    Only tagged resources are counted (the Tagging API lists no others); the process itself stays a manual
    attestation."""
    by_marker: dict[str, int] = {}
    for r in inv.tagging.resources:
        m = _marker(r.tags, cfg.iac_marker_tags)
        if m:
            by_marker[m] = by_marker.get(m, 0) + 1
    total, managed = len(inv.tagging.resources), sum(by_marker.values())
    share = managed / total if total else None
    failed = [{"stack": s.name, "region": s.region, "status": s.status, "reason": s.status_reason}
              for s in inv.cloudformation_stacks.stacks if s.failed]
    evidence: dict[str, Any] = {"tagged_resources": total, "iac_managed": managed,
                                "share": None if share is None else round(share, 3),
                                "threshold": cfg.iac_min_managed_share, "by_marker": dict(sorted(by_marker.items())),
                                "stacks": len(inv.cloudformation_stacks.stacks), "failed_stacks": failed}
    warnings = []
    if share is None:
        warnings.append("no tagged resources: no sign of infrastructure as code")
    elif share < cfg.iac_min_managed_share:
        warnings.append(f"only {share:.0%} of tagged resources carry an IaC marker tag "
                        f"(threshold {cfg.iac_min_managed_share:.0%})")
    if failed:
        warnings.append(f"{len(failed)} CloudFormation stack(s) in a failed or rolled-back state")
    summary = "no tagged resources" if share is None else f"{managed} of {total} tagged resources ({share:.0%}) " \
        "carry an IaC marker tag"
    if warnings:
        evidence["warning"] = "; ".join(warnings)
        yield Finding.passed(inv.account(), f"{summary}; warning: {evidence['warning']}", evidence=evidence)
    else:
        yield Finding.passed(inv.account(), summary, evidence=evidence)
