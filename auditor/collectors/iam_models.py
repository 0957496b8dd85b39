"""Typed records of the IAM collector (kept apart so the collector module stays readable)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import Section
from auditor.credential_report import CredentialRow
from auditor.models import Frozen, Resource


class AttachedPolicy(Frozen):
    name: str
    arn: str


class InlinePolicy(Frozen):
    name: str
    document: dict[str, Any]


class IamPrincipal(Resource):
    name: str
    path: str = "/"
    attached_policies: list[AttachedPolicy] = []
    inline_policies: list[InlinePolicy] = []


class IamUser(IamPrincipal):
    resource_type: ClassVar[str] = "AWS::IAM::User"
    create_date: datetime | None = None
    groups: list[str] = []
    tags: dict[str, str] = {}


class IamGroup(IamPrincipal):
    resource_type: ClassVar[str] = "AWS::IAM::Group"


class IamRole(IamPrincipal):
    resource_type: ClassVar[str] = "AWS::IAM::Role"
    create_date: datetime | None = None
    trust_policy: dict[str, Any] = {}


class ManagedPolicy(Resource):
    resource_type: ClassVar[str] = "AWS::IAM::ManagedPolicy"
    name: str
    aws_managed: bool
    default_version: str = ""
    document: dict[str, Any] | None = None  # default version; None when the service did not return it


class PasswordPolicy(Frozen):
    exists: bool  # False: the account has no password policy (NoSuchEntity), so AWS defaults apply
    minimum_length: int | None = None
    reuse_prevention: int | None = None
    max_age_days: int | None = None
    require_uppercase: bool = False
    require_lowercase: bool = False
    require_numbers: bool = False
    require_symbols: bool = False
    allow_users_to_change: bool = False
    hard_expiry: bool = False


class VirtualMfaDevice(Frozen):
    serial: str
    user_arn: str | None = None
    user_name: str | None = None
    enable_date: datetime | None = None


class PolicyEntities(Frozen):
    """Who holds one managed policy (iam:ListEntitiesForPolicy), by name."""

    policy_arn: str
    users: list[str] = []
    groups: list[str] = []
    roles: list[str] = []


class ServerCertificate(Resource):
    resource_type: ClassVar[str] = "AWS::IAM::ServerCertificate"
    name: str
    path: str = "/"
    upload_date: datetime | None = None
    expiration: datetime | None = None


class IdentityProvider(Frozen):
    arn: str
    kind: str  # "saml" | "oidc"
    name: str  # SAML provider name, or the OIDC issuer (e.g. token.actions.githubusercontent.com)
    valid_until: datetime | None = None


class OrganizationsFeatures(Frozen):
    enabled_features: list[str] | None = None
    organization_id: str = ""
    refused: str | None = None  # the refusal code (not management account, no org...): a fact, not a gap


class AccessKeyUsage(Frozen):
    """iam:GetAccessKeyLastUsed for a key whose credential-report row gives a use date but no service."""

    user: str
    key_id: str
    created: datetime | None = None
    last_used: datetime | None = None
    service: str | None = None
    region: str | None = None


class IamSection(Section):
    # None everywhere means "not read" (a gap explains why); an empty list means "read, and none".
    credential_report: list[CredentialRow] | None = None
    credential_report_generated: datetime | None = None
    account_summary: dict[str, int] | None = None
    password_policy: PasswordPolicy | None = None
    users: list[IamUser] | None = None
    groups: list[IamGroup] | None = None
    roles: list[IamRole] | None = None
    policies: list[ManagedPolicy] | None = None
    virtual_mfa_devices: list[VirtualMfaDevice] | None = None
    support_access: PolicyEntities | None = None
    server_certificates: list[ServerCertificate] | None = None
    saml_providers: list[IdentityProvider] | None = None
    oidc_providers: list[IdentityProvider] | None = None
    organizations_features: OrganizationsFeatures | None = None
    access_key_usage: list[AccessKeyUsage] | None = None  # only keys the report leaves without a service

    def root_row(self) -> CredentialRow | None:
        return next((r for r in self.credential_report or [] if r.is_root), None)

    def user_rows(self) -> list[CredentialRow]:
        return [r for r in self.credential_report or [] if not r.is_root]
