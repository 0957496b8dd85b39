"""Lambda functions: role, VPC placement, tags, and secrets found in their environment.

ListFunctions already returns Environment and VpcConfig, so there is no per-function detail call for them.
Environment values are scanned here and dropped: the inventory keeps variable names and (location, kind)
hits only. Tags are not in ListFunctions' answer (AWS never returns them there), so ListTags is called
per function into its own dataset: a denial only blinds the checks that read tags.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource
from auditor.secrets import SecretHit, scan_variables

FUNCTIONS = "lambda.functions"
TAGS = "lambda.tags"


class LambdaFunction(Resource):
    resource_type: ClassVar[str] = "AWS::Lambda::Function"
    name: str = ""
    runtime: str = ""
    package_type: str = ""
    role: str = ""
    vpc_id: str = ""
    subnet_ids: list[str] = []
    security_group_ids: list[str] = []
    env_variable_names: list[str] = []
    env_kms_key_arn: str = ""
    env_secrets: list[SecretHit] = []
    tags: dict[str, str] | None = None  # None: not read (see gaps)

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids)


class LambdaSection(Section):
    functions: list[LambdaFunction] = []


@collector("lambda", section=LambdaSection, regional=True, datasets={
    FUNCTIONS: ("lambda:ListFunctions",),
    TAGS: ("lambda:ListTags",),
})
def collect_lambda(ctx: CollectContext) -> LambdaSection:
    client = ctx.client()
    listed = ctx.paginate(FUNCTIONS, client, "list_functions", "Functions")
    if not listed:
        return LambdaSection()

    def record(raw: dict[str, Any]) -> LambdaFunction:
        arn = raw["FunctionArn"]
        tags = raw.get("Tags")
        if tags is None:
            got = ctx.call(TAGS, client, "list_tags", Resource=arn, resource_id=arn)
            tags = None if got is None else got.get("Tags", {})
        vpc = raw.get("VpcConfig") or {}
        env = (raw.get("Environment") or {}).get("Variables") or {}
        return LambdaFunction(
            arn=arn, id=raw["FunctionName"], region=ctx.region, account_id=ctx.account_id, name=raw["FunctionName"],
            runtime=raw.get("Runtime", ""), package_type=raw.get("PackageType", ""), role=raw.get("Role", ""),
            vpc_id=vpc.get("VpcId", ""), subnet_ids=sorted(vpc.get("SubnetIds") or []),
            security_group_ids=sorted(vpc.get("SecurityGroupIds") or []), env_variable_names=sorted(env),
            env_kms_key_arn=raw.get("KMSKeyArn") or "", env_secrets=scan_variables(sorted(env.items())),
            tags=None if tags is None else dict(sorted(tags.items())))

    return LambdaSection(functions=sorted(ctx.map(record, listed), key=lambda f: f.arn))
