from __future__ import annotations

import json

import boto3
import pytest

from auditor.models import Status
from tests.checks.test_iam_root import ago, hand_inventory, report_row, run
from tests.conftest import deny, future, only, scan, statuses

POLICY = ["iam.password-policy-min-length", "iam.password-policy-reuse", "iam.password-policy-complexity"]
READ = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})


def _by_check(result) -> dict[str, Status]:
    return {f.check_id: f.status for f in result.findings}


# password policy: iam.password-policy-min-length, iam.password-policy-reuse, iam.password-policy-complexity
def test_password_policy_pass(session):
    boto3.client("iam").update_account_password_policy(
        MinimumPasswordLength=14, PasswordReusePrevention=24, RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True, RequireNumbers=True, RequireSymbols=True)
    result = scan(session, POLICY)
    assert _by_check(result) == dict.fromkeys(POLICY, Status.PASS)
    assert {f.resource.type for f in result.findings} == {"AWS::::AccountSetting"}


def test_password_policy_fail_when_weak(session):
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=5,
                                                       RequireUppercaseCharacters=True, RequireNumbers=True)
    result = scan(session, POLICY)
    assert _by_check(result) == dict.fromkeys(POLICY, Status.FAIL)
    [length] = only(result, "iam.password-policy-min-length")
    assert "only 8" in length.message and length.evidence["required"] == 14
    [reuse] = only(result, "iam.password-policy-reuse")
    assert "last 5" in reuse.message
    [cx] = only(result, "iam.password-policy-complexity")
    assert "lowercase, symbols" in cx.message and "uppercase" not in cx.message


def test_password_policy_fail_when_absent(session):
    result = scan(session, POLICY)
    assert _by_check(result) == dict.fromkeys(POLICY, Status.FAIL)
    assert all("no password policy" in f.message for f in result.findings)


def test_password_policy_thresholds_are_config(session):
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=12, PasswordReusePrevention=10)
    cfg = future(0).with_overrides(password_min_length=12, password_reuse_prevention=10)
    assert _by_check(scan(session, POLICY[:2], cfg=cfg)) == dict.fromkeys(POLICY[:2], Status.PASS)


def test_password_policy_error_when_denied(session):
    deny(session, "iam.GetAccountPasswordPolicy")
    result = scan(session, POLICY)
    assert _by_check(result) == dict.fromkeys(POLICY, Status.ERROR)


# iam.user-console-mfa
def _console_user(name: str, mfa: bool) -> None:
    iam = boto3.client("iam")
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Not-a-real-Passw0rd!")
    if mfa:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")


def test_console_mfa_pass_and_fail(session):
    _console_user("alice", mfa=True)
    _console_user("bob", mfa=False)
    boto3.client("iam").create_user(UserName="api-only")  # no password: out of scope
    found = {f.resource.id: f for f in only(scan(session, ["iam.user-console-mfa"]), "iam.user-console-mfa")}
    assert {k: f.status for k, f in found.items()} == {"alice": Status.PASS, "bob": Status.FAIL}
    assert found["bob"].resource.arn.endswith(":user/bob") and found["bob"].message == \
        "user bob has a console password but no MFA"


def test_console_mfa_not_applicable_without_console_users(session):
    boto3.client("iam").create_user(UserName="api-only")
    assert statuses(scan(session, ["iam.user-console-mfa"]), "iam.user-console-mfa") == [Status.NOT_APPLICABLE]


def test_console_mfa_error_when_report_denied(session):
    _console_user("bob", mfa=False)
    deny(session, "iam.GetCredentialReport")
    [f] = only(scan(session, ["iam.user-console-mfa"]), "iam.user-console-mfa")
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:GetCredentialReport"


# iam.access-key-rotation
@pytest.fixture
def ci_user():
    iam = boto3.client("iam")
    iam.create_user(UserName="ci")
    iam.create_access_key(UserName="ci")
    old = iam.create_access_key(UserName="ci")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="ci", AccessKeyId=old, Status="Inactive")  # inactive keys are not judged
    return "ci"


def test_key_rotation_pass_then_fail_with_time(session, ci_user):
    [f] = only(scan(session, ["iam.access-key-rotation"]), "iam.access-key-rotation")
    assert (f.status, f.subkey, f.resource.id) == (Status.PASS, "access_key_1", "ci")
    [f] = only(scan(session, ["iam.access-key-rotation"], cfg=future(91)), "iam.access-key-rotation")
    assert f.status is Status.FAIL and f.evidence["age_days"] == 91 and "rotate" in f.message


def test_key_rotation_not_applicable_without_active_keys_and_error_when_denied(session):
    boto3.client("iam").create_user(UserName="nobody")
    assert statuses(scan(session, ["iam.access-key-rotation"]), "iam.access-key-rotation") == \
        [Status.NOT_APPLICABLE]
    deny(session, "iam.GetCredentialReport")
    assert statuses(scan(session, ["iam.access-key-rotation"]), "iam.access-key-rotation") == [Status.ERROR]


# iam.user-unused-credentials
def test_unused_credentials_pass_now_fail_later(session, ci_user):
    _console_user("bob", mfa=False)
    ids = "iam.user-unused-credentials"
    assert {(f.resource.id, f.subkey, f.status) for f in only(scan(session, [ids]), ids)} == {
        ("bob", "password", Status.PASS), ("ci", "access_key_1", Status.PASS)}
    later = only(scan(session, [ids], cfg=future(46)), ids)
    assert {(f.resource.id, f.subkey, f.status) for f in later} == {
        ("bob", "password", Status.FAIL), ("ci", "access_key_1", Status.FAIL)}
    assert all(f.evidence["never_used"] for f in later)


def test_unused_credentials_key_last_use_counts(session):
    iam = boto3.client("iam")
    iam.create_user(UserName="ci")
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    boto3.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                 aws_session_token=None).list_users()  # moto records last use when the key signs a request
    [f] = only(scan(session, ["iam.user-unused-credentials"], cfg=future(30)), "iam.user-unused-credentials")
    assert f.status is Status.PASS and f.evidence["never_used"] is False
    assert key["SecretAccessKey"] not in f.model_dump_json()


def test_unused_credentials_password_used_recently_needs_a_fixture():
    inv = hand_inventory(report_row(), report_row("carol", password="true", password_used=ago(2), mfa="false"),
                         report_row("dave", password="true", password_used=ago(60), mfa="true"))
    found = {f.resource.id: f for f in run(inv, "iam.user-unused-credentials")}
    assert {k: f.status for k, f in found.items()} == {"carol": Status.PASS, "dave": Status.FAIL}
    assert found["dave"].evidence["idle_days"] == 60
    inv90 = run(inv, "iam.user-unused-credentials", credential_max_unused_days=90)
    assert {f.status for f in inv90} == {Status.PASS}


def test_unused_credentials_error_when_report_denied(session, ci_user):
    deny(session, "iam.GetCredentialReport")
    assert statuses(scan(session, ["iam.user-unused-credentials"]), "iam.user-unused-credentials") == [Status.ERROR]


# iam.user-no-direct-policies
def test_direct_policies_pass_and_fail(session):
    iam = boto3.client("iam")
    arn = iam.create_policy(PolicyName="read", PolicyDocument=READ)["Policy"]["Arn"]
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=arn)
    for name in ("grouped", "direct"):
        iam.create_user(UserName=name)
    iam.add_user_to_group(GroupName="readers", UserName="grouped")
    iam.attach_user_policy(UserName="direct", PolicyArn=arn)
    iam.put_user_policy(UserName="direct", PolicyName="quick-fix", PolicyDocument=READ)
    found = {f.resource.id: f for f in only(scan(session, ["iam.user-no-direct-policies"]),
                                            "iam.user-no-direct-policies")}
    assert {k: f.status for k, f in found.items()} == {"grouped": Status.PASS, "direct": Status.FAIL}
    assert found["direct"].message == "user direct has attached policy read and inline policy quick-fix: " \
        "move them to a group"
    assert found["direct"].evidence["inline_policies"] == ["quick-fix"]


def test_direct_policies_error_when_authorization_denied(session):
    boto3.client("iam").create_user(UserName="u")
    deny(session, "iam.GetAccountAuthorizationDetails")
    [f] = only(scan(session, ["iam.user-no-direct-policies"]), "iam.user-no-direct-policies")
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:GetAccountAuthorizationDetails"
