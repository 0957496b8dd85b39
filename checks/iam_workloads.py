"""Workload identities: compute gets its AWS permissions from roles, and each application has its own role.

The checklist's WARN outcomes (task definitions without a task role, one role shared across applications) are
PASS with a "warning" entry in the evidence and the message.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.ec2 import Instance
from auditor.collectors.ecs import TASK_DEFINITIONS
from auditor.collectors.lambda_ import FUNCTIONS, TAGS, LambdaFunction
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, ResourceRef, Status
from auditor.registry import check

INSTANCES = "ec2.instances"
_LIVE = ("pending", "running", "stopped")


@check("iam.compute-uses-roles", needs=(INSTANCES, TASK_DEFINITIONS))
def compute_uses_roles(inv: Inventory) -> Iterator[Finding]:
    """Code on an instance without a role ends up with access keys on disk; a role's credentials rotate."""
    for inst in inv.ec2.instances:
        if inst.state not in _LIVE:
            continue
        evidence = {"state": inst.state, "instance_profile": inst.instance_profile_arn}
        if inst.instance_profile_arn:
            yield Finding.passed(inst, f"instance {inst.id} has instance profile "
                                 f"{inst.instance_profile_arn.rsplit('/', 1)[-1]}", evidence=evidence)
        else:
            yield Finding.failed(inst, f"instance {inst.id} ({inst.state}) has no IAM instance profile: give it a "
                                 "role instead of stored access keys", evidence=evidence)
    for td in inv.ecs.task_definitions:
        evidence: dict[str, Any] = {"task_role": td.task_role_arn or None,
                                    "execution_role": td.execution_role_arn or None}
        if td.task_role_arn:
            yield Finding.passed(td, f"task definition {td.id} runs with task role "
                                 f"{td.task_role_arn.rsplit('/', 1)[-1]}", evidence=evidence)
        else:
            evidence["warning"] = "no taskRoleArn: containers that call AWS need keys or borrow the host's role"
            yield Finding.passed(td, f"task definition {td.id}; warning: {evidence['warning']}", evidence=evidence)


def _ref(arn: str, kind: str, region: str) -> ResourceRef:
    return ResourceRef(arn=arn, id=arn.rsplit("/", 1)[-1], type=kind, region=region)


def _spread(members: dict[str, dict[str, str] | None], keys: list[str]) -> dict[str, dict[str, list[str]]]:
    """tag key -> value -> member names, for the keys on which the members disagree."""
    out = {}
    for key in keys:
        values: dict[str, list[str]] = {}
        for name, tags in sorted(members.items()):
            value = next((v for k, v in (tags or {}).items() if k.lower() == key.lower()), None)  # 'Project' too
            if value:
                values.setdefault(value, []).append(name)
        if len(values) > 1:
            out[key] = values
    return out


def _shared(ref: ResourceRef, what: str, members: dict[str, dict[str, str] | None],
            cfg: AuditConfig) -> Finding:
    spread = _spread(members, cfg.workload_tag_keys)
    evidence: dict[str, Any] = {"used_by": sorted(members), "tag_keys": cfg.workload_tag_keys, "differing": spread}
    message = f"{what} {ref.id} is used by {len(members)} {'workload' if len(members) == 1 else 'workloads'}"
    if spread:
        shown = "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(spread.items()))
        evidence["warning"] = f"shared across applications ({shown}): give each its own role"
        message += f"; warning: {evidence['warning']}"
    return Finding.passed(ref, message, evidence=evidence)


@check("iam.workload-role-per-service", needs=(FUNCTIONS, INSTANCES))
def workload_role_per_service(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """A role shared by two applications gives each the other's permissions, and blurs CloudTrail."""
    by_role: dict[tuple[str, str], list[LambdaFunction]] = {}
    for fn in getattr(inv, "lambda").functions:
        if fn.role:
            by_role.setdefault((fn.region, fn.role), []).append(fn)
    for (region, role), fns in sorted(by_role.items()):
        ref = _ref(role, "AWS::IAM::Role", region)
        unread = [f for f in fns if f.tags is None]
        if len(fns) > 1 and unread:  # with one function there is nothing to compare
            gap = next((g for g in inv.gaps if g.dataset == TAGS and g.resource_id in {f.arn for f in unread}), None)
            yield Finding.with_status(Status.ERROR, ref, f"execution role {ref.id}: tags of "
                                      f"{', '.join(f.name for f in unread)} could not be read",
                                      evidence={"used_by": sorted(f.name for f in fns)}).model_copy(update={"gap": gap})
            continue
        yield _shared(ref, "execution role", {f"function {f.name}": f.tags for f in fns}, cfg)
    by_profile: dict[tuple[str, str], list[Instance]] = {}
    for inst in inv.ec2.instances:
        if inst.instance_profile_arn and inst.state in _LIVE:
            by_profile.setdefault((inst.region, inst.instance_profile_arn), []).append(inst)
    for (region, profile), insts in sorted(by_profile.items()):
        yield _shared(_ref(profile, "AWS::IAM::InstanceProfile", region), "instance profile",
                      {f"instance {i.id}": i.tags for i in insts}, cfg)
