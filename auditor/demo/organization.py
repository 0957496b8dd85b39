"""Demo Organizations and contacts: the startup account became a management account with one member.

Some guardrails are in place (no leaving, security services protected, a region lock) and some are
missing (root users, IAM users, S3 Block Public Access, AMIs, tag policies); only the security contact is set.
"""
from __future__ import annotations

import json

from auditor.demo import DemoContext, demo_step

SCP = "SERVICE_CONTROL_POLICY"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Resource": "*", **s} for s in statements]})


_DENY_LEAVE = _doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization"})
_PROTECT = _doc({"Effect": "Deny", "Action": [
    "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "config:StopConfigurationRecorder",
    "config:DeleteConfigurationRecorder", "config:DeleteDeliveryChannel", "guardduty:DeleteDetector",
    "guardduty:DisassociateFromAdministratorAccount", "guardduty:UpdateDetector", "securityhub:DisableSecurityHub",
    "ec2:DisableEbsEncryptionByDefault"],
    "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}}})
_REGION_LOCK = _doc({"Effect": "Deny", "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*"],
                     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}})


@demo_step("organization")
def organization(ctx: DemoContext) -> None:
    org = ctx.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType=SCP)

    def ou(parent: str, name: str) -> str:
        return org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]

    ou(root, "Security")
    workloads = ou(root, "Workloads")
    prod = ou(workloads, "Prod")
    ou(workloads, "Dev")
    member = org.create_account(AccountName="acme-prod", Email="aws-prod@example.com")["CreateAccountStatus"][
        "AccountId"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=prod)

    def scp(name: str, content: str, target: str) -> None:
        pid = org.create_policy(Name=name, Type=SCP, Content=content, Description=name)["Policy"]["PolicySummary"]
        org.attach_policy(PolicyId=pid["Id"], TargetId=target)

    scp("deny-leave-organization", _DENY_LEAVE, root)
    scp("protect-security-services", _PROTECT, workloads)
    scp("region-lock", _REGION_LOCK, member)  # attached to the account itself: org.scps-on-ous warns

    org.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
    org.register_delegated_administrator(AccountId=member, ServicePrincipal="guardduty.amazonaws.com")

    ctx.client("account").put_alternate_contact(
        AlternateContactType="SECURITY", Name="Security Team", Title="Security", EmailAddress="security@example.com",
        PhoneNumber="+1-555-0100")
    ctx.notes.append(f"organizations: management account with member {member} in Workloads/Prod; SCPs deny leaving "
                     "(root), protect security services (Workloads) and lock regions (attached to the account); "
                     "no SCP denies root, IAM users or S3 Block Public Access changes; no tag policy; GuardDuty "
                     "delegated, Security Hub/Config/Access Analyzer not; only the SECURITY contact is set")
