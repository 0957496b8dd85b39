"""Result vocabulary shared by collectors, checks, the runner and the renderers."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def assemble(cls, values: dict[str, Any], fields_set: set[str]) -> Any:
        """An instance from values that are already valid and name every field, without validation.

        What `model_construct` ends with, minus its per-field walk for aliases and defaults (~10 µs, which ~10^4
        findings per scan pay twice). Only for these models: no aliases, no extras, no post-init hook.
        """
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", values)
        object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1,
                  Severity.INFORMATIONAL: 0}


class Status(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"  # could not read: never a pass, never a fail
    NOT_APPLICABLE = "NOT_APPLICABLE"
    MANUAL = "MANUAL"  # needs a human attestation
    WAIVED = "WAIVED"  # a FAIL covered by a valid waiver


GLOBAL = "global"


class Resource(Frozen):
    """Base of every inventory record that a finding can point at."""

    resource_type: ClassVar[str] = "AWS::Unknown"
    arn: str
    id: str
    region: str = GLOBAL
    account_id: str = ""

    def ref(self) -> ResourceRef:
        # Fields of a validated Resource need no second validation (~10^4 refs per scan).
        return ResourceRef.assemble({"arn": self.arn, "id": self.id, "type": self.resource_type,
                                     "region": self.region}, _REF_FIELDS)


class ResourceRef(Frozen):
    arn: str
    id: str
    type: str
    region: str = GLOBAL


_REF_FIELDS = set(ResourceRef.model_fields)  # shared: pydantic copies a fields-set before changing one


class Gap(Frozen):
    """A read that failed. Checks needing `dataset` in this scope become ERROR, never PASS or FAIL."""

    dataset: str
    service: str
    region: str
    operation: str
    iam_action: str
    error_code: str
    message: str = ""
    resource_id: str | None = None  # set when only one resource's detail could not be read

    def describe(self) -> str:
        where = f"{self.region}" + (f" {self.resource_id}" if self.resource_id else "")
        return f"{self.operation} failed in {where}: {self.error_code} (needs {self.iam_action})"


class Finding(Frozen):
    """One verdict of one check on one resource (or on the account / a region)."""

    check_id: str = ""
    status: Status
    severity: Severity = Severity.MEDIUM
    account_id: str = ""
    region: str = GLOBAL
    resource: ResourceRef
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    subkey: str = ""  # separates several findings of one check on one resource (e.g. one SG rule)
    gap: Gap | None = None
    waiver: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None  # who attested a manual item, when, evidence, expiry

    @classmethod
    def of(cls, resource: Resource | ResourceRef, *, passed: bool, message: str = "",
           evidence: dict[str, Any] | None = None, subkey: str = "") -> Finding:
        ref = resource.ref() if isinstance(resource, Resource) else resource
        status = Status.PASS if passed else Status.FAIL
        return cls(status=status, region=ref.region, resource=ref, subkey=subkey,
                   message=message or f"{ref.id}: {'compliant' if passed else 'not compliant'}",
                   evidence=evidence or {})

    @classmethod
    def passed(cls, resource: Resource | ResourceRef, message: str = "", **kw: Any) -> Finding:
        return cls.of(resource, passed=True, message=message, **kw)

    @classmethod
    def failed(cls, resource: Resource | ResourceRef, message: str = "", **kw: Any) -> Finding:
        return cls.of(resource, passed=False, message=message, **kw)

    @classmethod
    def with_status(cls, status: Status, resource: Resource | ResourceRef, message: str,
                    evidence: dict[str, Any] | None = None, subkey: str = "") -> Finding:
        ref = resource.ref() if isinstance(resource, Resource) else resource
        return cls(status=status, region=ref.region, resource=ref, message=message,
                   evidence=evidence or {}, subkey=subkey)

    @classmethod
    def unreadable(cls, gap: Gap, resource: Resource | ResourceRef, message: str = "",
                   evidence: dict[str, Any] | None = None) -> Finding:
        """ERROR for a verdict that depends on a read that failed."""
        ref = resource.ref() if isinstance(resource, Resource) else resource
        return cls(status=Status.ERROR, region=ref.region, resource=ref, gap=gap, evidence=evidence or {},
                   message=message or f"could not read: {gap.describe()}")

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity of a finding across scans (used by diff and fingerprints)."""
        return (self.check_id, self.region, self.resource.arn, self.subkey)


class Identity(Frozen):
    account_id: str
    arn: str
    partition: str = "aws"
    user_id: str = ""


class CheckInfo(Frozen):
    """What the report says about one check: catalog metadata plus how it ran."""

    id: str
    title: str
    severity: Severity
    area: str
    service: str
    rationale: str
    frameworks: dict[str, list[str]]
    remediation: str = ""
    needs: tuple[str, ...] = ()
    manual: bool = False


class Summary(Frozen):
    by_status: dict[str, int]
    by_severity_failed: dict[str, int]
    checks_run: int
    resources: int
    score: float | None  # passed / (passed + failed), None when nothing was judged
    complete: bool


class OrgScan(Frozen):
    """The organization scan (and shard) a report belongs to, so `auditor merge` can refuse to mix scans."""

    scan_id: str
    organization_id: str = ""
    management_account_id: str = ""
    shard: int = 1  # 1-based, of shard_count
    shard_count: int = 1
    accounts: list[str] = Field(default_factory=list)  # every account the whole scan selected (all shards), sorted


class AuditResult(Frozen):
    tool: str = "auditor"
    tool_version: str
    schema_version: str
    identity: Identity
    regions: list[str]
    checks: list[CheckInfo]
    started_at: datetime
    finished_at: datetime
    gaps: list[Gap]
    findings: list[Finding]
    summary: Summary
    api_calls: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    org_scan: OrgScan | None = None  # set when the report is one account of an organization scan
