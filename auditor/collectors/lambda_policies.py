"""Lambda functions' resource-based policies: GetPolicy per function the lambda collector listed.

Runs after the lambda collector and reads its function list, so ListFunctions is called once per scan.
ResourceNotFoundException from GetPolicy means the function has no policy.
"""
from __future__ import annotations

from typing import ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.collectors.lambda_ import FUNCTIONS, LambdaFunction
from auditor.models import Resource

FUNCTION_POLICIES = "lambda.function_policies"


class FunctionPolicy(Resource):
    resource_type: ClassVar[str] = "AWS::Lambda::Function"
    name: str
    policy_read: bool = False  # False: GetPolicy failed (see gaps)
    policy: str | None = None  # None: no resource policy (when policy_read)


class LambdaPoliciesSection(Section):
    functions: list[FunctionPolicy] = []


@collector("lambda_policies", service="lambda", section=LambdaPoliciesSection, regional=True, after=("lambda",),
           datasets={FUNCTION_POLICIES: ("lambda:GetPolicy",)})
def collect_lambda_policies(ctx: CollectContext) -> LambdaPoliciesSection:
    if ctx.inherit_gaps(FUNCTIONS, FUNCTION_POLICIES):
        return LambdaPoliciesSection()
    lam = ctx.client("lambda")

    def function(f: LambdaFunction) -> FunctionPolicy:
        resp = ctx.call(FUNCTION_POLICIES, lam, "get_policy", FunctionName=f.arn,
                        absent=("ResourceNotFoundException",), resource_id=f.arn)
        return FunctionPolicy(arn=f.arn, id=f.id, name=f.name or f.id, region=ctx.region,
                              account_id=f.arn.split(":")[4], policy_read=resp is not None,
                              policy=None if resp is None or resp is NOT_FOUND else resp.get("Policy") or None)

    functions = sorted(ctx.upstream("lambda").functions, key=lambda f: f.arn)
    return LambdaPoliciesSection(functions=ctx.map(function, functions))
