"""ECS task definitions: the latest ACTIVE revision of every family, its roles, and secrets in its environment.

ListTaskDefinitions(status=ACTIVE) gives every active revision; DescribeTaskDefinition (with tags) is called
once per family for its latest one. containerDefinitions[].environment values are scanned here and dropped:
the inventory keeps variable names, the names of `secrets` entries (references, valueFrom) and the
(location, kind) hits only.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource
from auditor.secrets import SecretHit, scan_variables

TASK_DEFINITIONS = "ecs.task_definitions"


class ContainerEnvironment(Frozen):
    name: str
    variable_names: list[str] = []
    secret_names: list[str] = []  # injected from Secrets Manager / SSM through `secrets` (valueFrom)
    environment_files: int = 0


class TaskDefinition(Resource):
    resource_type: ClassVar[str] = "AWS::ECS::TaskDefinition"
    family: str = ""
    revision: int = 0
    described: bool = True  # False: DescribeTaskDefinition failed (see gaps); only the ARN is known
    active_revisions: int = 0  # ACTIVE revisions of this family; only the latest is read
    task_role_arn: str = ""
    execution_role_arn: str = ""
    network_mode: str = ""
    containers: list[ContainerEnvironment] = []
    env_secrets: list[SecretHit] = []
    tags: dict[str, str] = {}


class EcsSection(Section):
    task_definitions: list[TaskDefinition] = []


@collector("ecs", section=EcsSection, regional=True, datasets={
    TASK_DEFINITIONS: ("ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition"),
})
def collect_ecs(ctx: CollectContext) -> EcsSection:
    ecs = ctx.client()
    arns = ctx.paginate(TASK_DEFINITIONS, ecs, "list_task_definitions", "taskDefinitionArns", status="ACTIVE")
    if not arns:
        return EcsSection()
    latest: dict[str, tuple[int, str]] = {}
    counts: dict[str, int] = {}
    for arn in arns:
        family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
        counts[family] = counts.get(family, 0) + 1
        if int(revision) > latest.get(family, (0, ""))[0]:
            latest[family] = (int(revision), arn)

    def describe(family: str) -> TaskDefinition:
        arn = latest[family][1]
        got = ctx.call(TASK_DEFINITIONS, ecs, "describe_task_definition", taskDefinition=arn, include=["TAGS"],
                       resource_id=arn)
        if got is None:  # gap recorded; the record lets the finding name the task definition
            return TaskDefinition(arn=arn, id=f"{family}:{latest[family][0]}", region=ctx.region,
                                  account_id=ctx.account_id, family=family, revision=latest[family][0],
                                  active_revisions=counts[family], described=False)
        return _record(ctx, got["taskDefinition"], got.get("tags") or [], counts[family])

    return EcsSection(task_definitions=ctx.map(describe, sorted(latest)))


def _record(ctx: CollectContext, td: dict[str, Any], tags: list[dict[str, str]], active: int) -> TaskDefinition:
    containers, hits = [], []
    for c in td.get("containerDefinitions", []):
        env = [(e.get("name", ""), e.get("value", "")) for e in c.get("environment") or []]
        name = c.get("name", "")
        hits.extend(scan_variables(sorted(env), prefix=f"container {name}: "))
        containers.append(ContainerEnvironment(
            name=name, variable_names=sorted(n for n, _ in env),
            secret_names=sorted(s.get("name", "") for s in c.get("secrets") or []),
            environment_files=len(c.get("environmentFiles") or [])))
    family, revision = td.get("family", ""), int(td.get("revision") or 0)
    return TaskDefinition(
        arn=td["taskDefinitionArn"], id=f"{family}:{revision}", region=ctx.region, account_id=ctx.account_id,
        family=family, revision=revision, active_revisions=active, task_role_arn=td.get("taskRoleArn") or "",
        execution_role_arn=td.get("executionRoleArn") or "", network_mode=td.get("networkMode") or "",
        containers=containers, env_secrets=hits,
        tags={t["key"]: t.get("value", "") for t in tags if "key" in t})
