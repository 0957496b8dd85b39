"""Patch compliance of SSM managed instances per region.

ListResourceComplianceSummaries (ComplianceType=Patch) carries the verdict for every instance in one listing;
DescribeInstancePatchStates (50 instances a call) adds the missing / failed counts as evidence. Named
"ssm_patch" so it never collides with a collector for SSM parameters.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource, ResourceRef

SUMMARIES = "ssm.patch_compliance"
STATES = "ssm.patch_states"

_STATES_BATCH = 50  # DescribeInstancePatchStates accepts at most 50 instance ids
_COUNTS = {"MissingCount": "missing", "FailedCount": "failed", "InstalledPendingRebootCount": "pending_reboot",
           "InstalledRejectedCount": "rejected", "CriticalNonCompliantCount": "critical_noncompliant",
           "SecurityNonCompliantCount": "security_noncompliant"}


class PatchCompliance(Resource):
    resource_type: ClassVar[str] = "AWS::SSM::ManagedInstance"
    status: str = ""  # COMPLIANT / NON_COMPLIANT
    overall_severity: str = ""
    compliant_count: int = 0
    non_compliant_count: int = 0
    non_compliant_by_severity: dict[str, int] = {}
    last_execution: datetime | None = None
    # from DescribeInstancePatchStates; None: not read (see gaps) or no state reported
    counts: dict[str, int] | None = None
    baseline_id: str = ""
    last_operation: str = ""
    last_operation_end: datetime | None = None

    def ref(self) -> ResourceRef:
        # EC2 instances keep their EC2 identity, so findings line up with the EC2 checks'.
        kind = "AWS::EC2::Instance" if self.id.startswith("i-") else self.resource_type
        return ResourceRef(arn=self.arn, id=self.id, type=kind, region=self.region)


class SsmPatchSection(Section):
    instances: list[PatchCompliance] = []


@collector("ssm_patch", service="ssm", section=SsmPatchSection, regional=True, datasets={
    SUMMARIES: ("ssm:ListResourceComplianceSummaries",),
    STATES: ("ssm:DescribeInstancePatchStates",),
})
def collect_ssm_patch(ctx: CollectContext) -> SsmPatchSection:
    ssm = ctx.client()
    listed = ctx.paginate(SUMMARIES, ssm, "list_resource_compliance_summaries", "ResourceComplianceSummaryItems",
                          Filters=[{"Key": "ComplianceType", "Values": ["Patch"], "Type": "EQUAL"}])
    items = sorted((i for i in listed or [] if i.get("ResourceType") == "ManagedInstance"),
                   key=lambda i: i["ResourceId"])
    if not items:
        return SsmPatchSection()
    ids = [i["ResourceId"] for i in items]
    batches = [ids[n:n + _STATES_BATCH] for n in range(0, len(ids), _STATES_BATCH)]
    states: dict[str, dict[str, Any]] = {}
    for got in ctx.map(lambda b: ctx.paginate(STATES, ssm, "describe_instance_patch_states", "InstancePatchStates",
                                              InstanceIds=b), batches):
        states.update({s["InstanceId"]: s for s in got or []})
    return SsmPatchSection(instances=[_record(ctx, i, states.get(i["ResourceId"])) for i in items])


def _record(ctx: CollectContext, item: dict[str, Any], state: dict[str, Any] | None) -> PatchCompliance:
    rid = item["ResourceId"]
    arn = (ctx.arn("ec2", f"instance/{rid}", ctx.region) if rid.startswith("i-")
           else ctx.arn("ssm", f"managed-instance/{rid}", ctx.region))
    nc = item.get("NonCompliantSummary") or {}
    by_sev = {k.removesuffix("Count").lower(): int(v) for k, v in sorted((nc.get("SeveritySummary") or {}).items())
              if v}
    extra: dict[str, Any] = {}
    if state is not None:
        extra = {"counts": {name: int(state.get(key) or 0) for key, name in _COUNTS.items()},
                 "baseline_id": state.get("BaselineId", ""), "last_operation": state.get("Operation", ""),
                 "last_operation_end": state.get("OperationEndTime")}
    return PatchCompliance(arn=arn, id=rid, region=ctx.region, account_id=ctx.account_id,
                           status=item.get("Status", ""), overall_severity=item.get("OverallSeverity", ""),
                           compliant_count=int((item.get("CompliantSummary") or {}).get("CompliantCount") or 0),
                           non_compliant_count=int(nc.get("NonCompliantCount") or 0),
                           non_compliant_by_severity=by_sev,
                           last_execution=(item.get("ExecutionSummary") or {}).get("ExecutionTime"), **extra)
