"""Lambda functions with their resource-based policies (ListFunctions, then GetPolicy per function).

Only the function identity and its policy are kept here; configuration (environment, role, VPC) belongs to the
lambda collector. ResourceNotFoundException from GetPolicy means the function has no policy.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Resource

FUNCTION_POLICIES = "lambda.function_policies"


class FunctionPolicy(Resource):
    resource_type: ClassVar[str] = "AWS::Lambda::Function"
    name: str
    policy_read: bool = False  # False: GetPolicy failed (see gaps)
    policy: str | None = None  # None: no resource policy (when policy_read)


class LambdaPoliciesSection(Section):
    functions: list[FunctionPolicy] = []


@collector("lambda_policies", service="lambda", section=LambdaPoliciesSection, regional=True, datasets={
    FUNCTION_POLICIES: ("lambda:ListFunctions", "lambda:GetPolicy"),
})
def collect_lambda_policies(ctx: CollectContext) -> LambdaPoliciesSection:
    lam = ctx.client("lambda")
    listed = ctx.paginate(FUNCTION_POLICIES, lam, "list_functions", "Functions")

    def function(f: dict[str, Any]) -> FunctionPolicy:
        arn = f["FunctionArn"]
        resp = ctx.call(FUNCTION_POLICIES, lam, "get_policy", FunctionName=arn,
                        absent=("ResourceNotFoundException",), resource_id=arn)
        return FunctionPolicy(arn=arn, id=f["FunctionName"], name=f["FunctionName"], region=ctx.region,
                              account_id=arn.split(":")[4], policy_read=resp is not None,
                              policy=None if resp is None or resp is NOT_FOUND else resp.get("Policy") or None)

    return LambdaPoliciesSection(functions=ctx.map(function, sorted(listed or [], key=lambda f: f["FunctionArn"])))
