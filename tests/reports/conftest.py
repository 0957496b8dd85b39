"""Hand-built AuditResults for the renderers: several checks, regions and statuses, and hostile strings."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from auditor.catalog import catalog
from auditor.models import GLOBAL, AuditResult, CheckInfo, Finding, Gap, Identity, ResourceRef, Severity, Status
from auditor.runner import manual_info, summarize

ACCOUNT = "123456789012"
XSS = "<script>document.title='PWNED';document.body.setAttribute('data-pwned','1')</script>"
ATTR_XSS = "\"'><img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">"
LONG = "bucket-" + "x" * 4993  # 5000 characters
UNICODE = "Zoë-管理者-🔐-\u202eevil"
CHECK_IDS = ["kms.cmk-rotation", "kms.no-pending-deletion", "iam.root-mfa", "iam.user-console-mfa",
             "vpc.sg-internet-ingress-justified", "ec2.ebs-default-encryption", "s3.bucket-access-logging"]
STARTED = datetime(2026, 3, 2, 3, 0, 0, tzinfo=timezone.utc)
FINISHED = datetime(2026, 3, 2, 3, 4, 10, tzinfo=timezone.utc)


def info(check_id: str) -> CheckInfo:
    item = catalog()[check_id]
    return CheckInfo(id=check_id, title=item.title, severity=item.severity, area=item.area, service=item.service,
                     rationale=f"{item.title} ({item.source}).", frameworks=item.frameworks,
                     remediation=item.evaluates)


def finding(check_id: str, status: Status, ref: ResourceRef, message: str, **kw: Any) -> Finding:
    return Finding(check_id=check_id, status=status, severity=catalog()[check_id].severity, account_id=ACCOUNT,
                   region=ref.region, resource=ref, message=message, **kw)


def key(region: str, key_id: str) -> ResourceRef:
    return ResourceRef(arn=f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}", id=key_id, type="AWS::KMS::Key",
                       region=region)


def user(name: str) -> ResourceRef:
    return ResourceRef(arn=f"arn:aws:iam::{ACCOUNT}:user/{name}", id=name, type="AWS::IAM::User")


ROOT = ResourceRef(arn=f"arn:aws:iam::{ACCOUNT}:root", id=ACCOUNT, type="AWS::::Account")
SG = ResourceRef(arn=f"arn:aws:ec2:eu-west-1:{ACCOUNT}:security-group/sg-0abc", id="sg-0abc",
                 type="AWS::EC2::SecurityGroup", region="eu-west-1")
BUCKET = ResourceRef(arn=f"arn:aws:s3:::{LONG}", id=LONG, type="AWS::S3::Bucket", region="us-east-1")
EBS_EU = ResourceRef(arn=f"arn:aws:ec2:eu-west-1:{ACCOUNT}:account-setting/ebs-encryption-by-default",
                     id="ebs-encryption-by-default/eu-west-1", type="AWS::::AccountSetting", region="eu-west-1")
EBS_US = EBS_EU.model_copy(update={"arn": EBS_EU.arn.replace("eu-west-1", "us-east-1"),
                                   "id": "ebs-encryption-by-default/us-east-1", "region": "us-east-1"})
GAP = Gap(dataset="ec2.ebs-default", service="ec2", region="eu-west-1", operation="GetEbsEncryptionByDefault",
          iam_action="ec2:GetEbsEncryptionByDefault", error_code="AccessDenied", message="denied")
WAIVER = {"owner": "alice@example.com", "reason": f"legacy key, replaced in Q3 {XSS}", "expires": "2026-09-30",
          "matched_by": "waiver 1 (check kms.cmk-rotation, resource *legacy*)"}


def complete_findings() -> list[Finding]:
    return [
        finding("kms.cmk-rotation", Status.FAIL, key("us-east-1", "k-1"), "key k-1 rotation disabled",
                evidence={"aliases": [f"alias/{XSS}"]}),
        finding("kms.cmk-rotation", Status.WAIVED, key("us-east-1", "legacy-2"), "key legacy-2 rotation disabled",
                waiver=WAIVER),
        finding("kms.cmk-rotation", Status.PASS, key("eu-west-1", "k-3"), "key k-3 rotation enabled"),
        finding("kms.no-pending-deletion", Status.PASS, key("us-east-1", "k-1"), "key k-1 is Enabled"),
        finding("iam.root-mfa", Status.FAIL, ROOT, "root user has no MFA"),
        finding("iam.user-console-mfa", Status.FAIL, user(XSS), f"user {XSS} has a console password but no MFA"),
        finding("iam.user-console-mfa", Status.FAIL, user(ATTR_XSS), "user with quotes has no MFA",
                evidence={"tags": {"Name": ATTR_XSS, "Owner": "</script><script>alert(1)</script>"}}),
        finding("iam.user-console-mfa", Status.PASS, user(UNICODE), f"user {UNICODE} has MFA"),
        finding("vpc.sg-internet-ingress-justified", Status.PASS, SG, "tcp/443 from 0.0.0.0/0 is justified",
                subkey="tcp/443/0.0.0.0/0",
                evidence={"justification": f"public web tier behind the ALB, ticket SEC-42 {ATTR_XSS}"}),
        finding("vpc.sg-internet-ingress-justified", Status.FAIL, SG, "tcp/8080 from 0.0.0.0/0 has no justification",
                subkey="tcp/8080/0.0.0.0/0", evidence={"description": XSS}),
        finding("ec2.ebs-default-encryption", Status.PASS, EBS_US, "EBS encryption by default is on in us-east-1"),
        finding("s3.bucket-access-logging", Status.FAIL, BUCKET, "bucket has no access logging"),
        finding("s3.bucket-access-logging", Status.NOT_APPLICABLE, ROOT, "no resources in scope"),
    ]


def manual() -> list[Finding]:
    return [Finding(check_id=i.id, status=Status.MANUAL, severity=Severity.INFORMATIONAL, account_id=ACCOUNT,
                    resource=ROOT, message=f"needs a human attestation: {i.rationale}") for i in manual_info()[:3]]


def make_result(findings: list[Finding], gaps: list[Gap] | None = None, **kw: Any) -> AuditResult:
    gaps = gaps or []
    infos = [info(c) for c in CHECK_IDS] + [i for i in manual_info() if i.id in {f.check_id for f in findings}]
    return AuditResult(tool_version="0.1.0", schema_version="1.0",
                       identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Audit/ci"),
                       regions=["eu-west-1", "us-east-1"], checks=infos, started_at=STARTED, finished_at=FINISHED,
                       gaps=gaps, findings=findings, summary=summarize(findings, len(CHECK_IDS), gaps), **kw)


@pytest.fixture
def complete_result() -> AuditResult:
    """Every scope fully read: FAIL, WAIVED, PASS, NOT_APPLICABLE and MANUAL."""
    return make_result(complete_findings() + manual())


@pytest.fixture
def full_result() -> AuditResult:
    """Like complete_result plus an ERROR (AccessDenied) in eu-west-1: that scope is incomplete."""
    error = finding("ec2.ebs-default-encryption", Status.ERROR, EBS_EU,
                    f"could not read: {GAP.describe()}", gap=GAP)
    return make_result(complete_findings() + [error] + manual(), gaps=[GAP],
                       warnings=["waiver 2 for s3.* on * expired on 2026-01-31 (owner bob)"])


__all__ = ["ACCOUNT", "ATTR_XSS", "GLOBAL", "LONG", "UNICODE", "XSS", "finding", "make_result"]
