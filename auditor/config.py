"""Scan configuration: thresholds with the checklist's defaults, validated by pydantic."""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """Bad configuration; the CLI prints it as one line and exits 2."""


class AuditConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # identity
    root_usage_window_days: int = Field(30, ge=1)
    credential_max_unused_days: int = Field(45, ge=1)
    access_key_max_age_days: int = Field(90, ge=1)
    password_min_length: int = Field(14, ge=6, le=128)
    password_reuse_prevention: int = Field(24, ge=1, le=24)
    password_max_age_days: int = Field(90, ge=1)
    admin_roles: list[str] = Field(default_factory=list)
    trusted_accounts: list[str] = Field(default_factory=list)
    exempt_user_tag: str = "identity-type=service"
    max_console_users: int = Field(3, ge=0)
    break_glass_users: list[str] = Field(default_factory=list)  # names or globs of console users kept beside SSO
    federation_counts_oidc: bool = False  # OIDC providers are usually CI; count them as human IdPs only when told
    long_lived_key_usage_days: int = Field(90, ge=1)
    # IAM policies and roles (names, ARNs or globs)
    admin_principals: list[str] = Field(default_factory=list)  # may change IAM policies / stop CloudTrail
    privileged_roles: list[str] = Field(default_factory=list)  # roles whose trust must require MFA anyway
    max_session_seconds: int = Field(28800, ge=900, le=43200)  # human-assumable roles and permission sets
    # services where a verb wildcard ('iam:Put*', 's3:Get*') on every resource is as bad as 'service:*'
    sensitive_services: list[str] = Field(default_factory=lambda: [
        "iam", "sts", "kms", "cloudtrail", "organizations", "secretsmanager", "s3"])
    workload_tag_keys: list[str] = Field(default_factory=lambda: ["project", "stack"])  # one role per value
    # network
    justification_tag: str = "public-ingress-justification"
    min_justification_chars: int = Field(20, ge=1)
    admin_ports: list[int] = Field(default_factory=lambda: [22, 3389])
    allow_admin_port_exemptions: bool = False
    # SSH/RDP sources that are fine: CIDRs (VPN, bastion subnets), and security-group / prefix-list ids
    approved_admin_cidrs: list[IPvAnyNetwork] = Field(default_factory=list)
    approved_admin_sources: list[str] = Field(default_factory=list)
    public_exposure_tag: str = "public-exposure-justification"  # instance tag that justifies a public IP
    # encryption
    require_customer_managed_keys: bool = False
    # organizations (regexes match OU and account names, case-insensitive)
    max_ou_depth: int = Field(3, ge=1, le=5)
    ou_production_pattern: str = r"prod"
    ou_nonproduction_pattern: str = r"staging|stage|dev|test|qa|sandbox|playground"
    ou_security_pattern: str = r"security|infosec|log|audit"
    delegated_admin_services: list[str] = Field(default_factory=lambda: [
        "guardduty.amazonaws.com", "securityhub.amazonaws.com", "config.amazonaws.com",
        "access-analyzer.amazonaws.com"])
    tag_policy_required_keys: list[str] = Field(
        default_factory=lambda: ["org", "project", "stack", "stage", "role"])
    # buckets the management account may keep (logs, billing/CUR reports); anything else is a workload
    management_bucket_allow_pattern: str = r"(^|[-._])(logs?|logging|billing|cur|cloudtrail|config|audit)([-._]|$)"
    # S3 scoping: "key" or "key=value" marks data/sensitive buckets; "tagged" scopes a check to them
    data_classification_tag: str = "data-classification"
    s3_access_logging_scope: str = Field("all", pattern="^(all|tagged)$")
    s3_versioning_scope: str = Field("all", pattern="^(all|tagged)$")
    s3_mfa_delete_scope: str = Field("sensitive", pattern="^(all|sensitive)$")  # sensitive: tagged + CloudTrail
    # databases
    min_backup_days: int = Field(7, ge=1)
    multi_az_scope_tag: str = ""  # "key" or "key=value" (e.g. "environment=production"); empty judges every DB
    # secrets, APIs, tagging and IaC (tagging.required-keys reuses tag_policy_required_keys)
    secret_rotation_grace_days: int = Field(7, ge=0)
    internal_api_tag: str = "exposure=internal"  # "key" or "key=value" marking REGIONAL/EDGE APIs as internal
    # "key" or "key=value" (case-insensitive) tags that mark a resource as deployed by an IaC tool
    iac_marker_tags: list[str] = Field(default_factory=lambda: [
        "aws:cloudformation:stack-name", "managed-by=terraform", "managed_by=terraform", "managedby=terraform",
        "managed-by=pulumi", "managedby=pulumi", "terraform=true"])
    iac_min_managed_share: float = Field(0.8, ge=0, le=1)
    # compute and secrets
    ami_max_age_days: int = Field(90, ge=1)
    # AMI owners whose images are sanctioned: account ids, owner aliases ("amazon", "aws-marketplace"),
    # "self" (this account) and "organization" (accounts of the organization, when it was read)
    sanctioned_ami_owners: list[str] = Field(default_factory=lambda: ["self", "organization"])
    ami_approval_tag: str = "approved-ami"  # an image tagged with it (non-empty, not "false") is sanctioned
    lambda_vpc_scope_tag: str = ""  # "key" or "key=value": only tagged functions must be in a VPC; empty: all
    # SSM parameter names that hold secrets (regex, case-insensitive)
    secret_parameter_pattern: str = (r"passw(or)?d|passwd|pwd|secret|token|credential|"
                                     r"(^|[^a-z])(api|private|access|signing|encryption|ssh)?[-_]?keys?([^a-z]|$)")
    # detection, support and cost
    finding_grace_days: int = Field(7, ge=0)  # unarchived high GuardDuty findings older than this are stale
    production_accounts: list[str] = Field(default_factory=list)  # ids ("*" = all) that need premium support
    # monitoring.changes-outside-pipeline: ARN globs of CI/CD principals (users, roles)
    pipeline_principals: list[str] = Field(default_factory=list)
    # collection
    workers: int = Field(16, ge=1, le=128)
    max_attempts: int = Field(8, ge=1, le=20)
    retry_mode: str = Field("adaptive", pattern="^(standard|adaptive|legacy)$")
    # evaluation clock; tests inject a fixed or future time because moto cannot back-date
    now: datetime | None = None

    def clock(self) -> datetime:
        return self.now or datetime.now(timezone.utc)

    def with_overrides(self, **kw: Any) -> AuditConfig:
        return self.model_validate({**self.model_dump(), **kw})


def load_config(path: str | Path | None) -> AuditConfig:
    if path is None:
        return AuditConfig()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
    try:
        return AuditConfig.model_validate(raw.get("auditor", raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise ConfigError(f"config file {p}: {loc}: {first['msg']}") from None
