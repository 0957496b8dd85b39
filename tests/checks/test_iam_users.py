from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest

from auditor.models import Status
from tests.checks.test_iam_root import ACCOUNT, ago, hand_inventory, report_row, run
from tests.collectors.test_iam import recorded
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


# iam.password-policy-expiry
EXPIRY = "iam.password-policy-expiry"


@pytest.mark.parametrize(("max_age", "status"), [(90, Status.PASS), (30, Status.PASS), (180, Status.FAIL),
                                                 (None, Status.FAIL)])
def test_password_expiry(session, max_age, status):
    extra = {"MaxPasswordAge": max_age} if max_age else {}
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=14, **extra)
    [f] = only(scan(session, [EXPIRY]), EXPIRY)
    assert f.status is status and f.evidence["MaxPasswordAge"] == (max_age or 0)  # moto says 0 for "unset"


def test_password_expiry_fail_without_policy_error_when_denied(session):
    [f] = only(scan(session, [EXPIRY]), EXPIRY)
    assert f.status is Status.FAIL and "no password policy" in f.message
    deny(session, "iam.GetAccountPasswordPolicy")
    assert statuses(scan(session, [EXPIRY]), EXPIRY) == [Status.ERROR]


# iam.user-mfa-all
def test_mfa_all_pass_fail_and_exempt_workload(session):
    _console_user("alice", mfa=True)
    iam = boto3.client("iam")
    iam.create_user(UserName="keys-only")
    iam.create_access_key(UserName="keys-only")
    iam.create_user(UserName="deployer", Tags=[{"Key": "identity-type", "Value": "service"}])
    iam.create_user(UserName="mislabelled", Tags=[{"Key": "identity-type", "Value": "human"}])
    found = {f.resource.id: f for f in only(scan(session, ["iam.user-mfa-all"]), "iam.user-mfa-all")}
    assert {k: f.status for k, f in found.items()} == {
        "alice": Status.PASS, "keys-only": Status.FAIL, "deployer": Status.NOT_APPLICABLE,
        "mislabelled": Status.FAIL}
    assert found["keys-only"].message.startswith("user keys-only has no MFA device")
    assert found["keys-only"].evidence["active_keys"] == [1]
    cfg = future(0).with_overrides(exempt_user_tag="identity-type")  # key only: any value exempts
    assert {f.status for f in only(scan(session, ["iam.user-mfa-all"], cfg=cfg), "iam.user-mfa-all",
                                   resource=found["mislabelled"].resource)} == {Status.NOT_APPLICABLE}


@pytest.mark.parametrize("op", ["iam.GetCredentialReport", "iam.GetAccountAuthorizationDetails"])
def test_mfa_all_error_when_either_source_denied(session, op):
    boto3.client("iam").create_user(UserName="u")
    deny(session, op)
    assert statuses(scan(session, ["iam.user-mfa-all"]), "iam.user-mfa-all") == [Status.ERROR]


# iam.user-single-active-key
def test_single_active_key(session, ci_user):
    iam = boto3.client("iam")
    iam.create_user(UserName="rotating")
    iam.create_access_key(UserName="rotating")
    iam.create_access_key(UserName="rotating")
    iam.create_user(UserName="keyless")
    found = {f.resource.id: f for f in only(scan(session, ["iam.user-single-active-key"]),
                                            "iam.user-single-active-key")}
    assert {k: f.status for k, f in found.items()} == {"ci": Status.PASS, "rotating": Status.FAIL,
                                                       "keyless": Status.PASS}
    assert found["rotating"].evidence["active_keys"] == [1, 2]  # ci's second key is inactive: not counted
    deny(session, "iam.GetCredentialReport")
    assert statuses(scan(session, ["iam.user-single-active-key"]), "iam.user-single-active-key") == [Status.ERROR]


# iam.user-no-initial-access-key
def _use_key(key: dict, service: str = "iam") -> None:
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"], aws_session_token=None)
    client.list_buckets() if service == "s3" else client.get_caller_identity() if service == "sts" \
        else client.list_users()


def test_initial_access_key(session):
    iam = boto3.client("iam")
    for name in ("setup", "active"):
        _console_user(name, mfa=False)
    iam.create_access_key(UserName="setup")
    _use_key(iam.create_access_key(UserName="active")["AccessKey"])
    iam.create_user(UserName="api")
    iam.create_access_key(UserName="api")  # no console password: out of scope
    found = {f.resource.id: f for f in only(scan(session, ["iam.user-no-initial-access-key"]),
                                            "iam.user-no-initial-access-key")}
    assert {k: f.status for k, f in found.items()} == {"setup": Status.FAIL, "active": Status.PASS}
    assert "access key 1 that was never used" in found["setup"].message
    deny(session, "iam.GetCredentialReport")
    assert statuses(scan(session, ["iam.user-no-initial-access-key"]), "iam.user-no-initial-access-key") == \
        [Status.ERROR]


def test_initial_access_key_not_applicable_without_console_users_with_keys(session):
    _console_user("bob", mfa=False)
    assert statuses(scan(session, ["iam.user-no-initial-access-key"]), "iam.user-no-initial-access-key") == \
        [Status.NOT_APPLICABLE]


# iam.user-in-group
def test_user_in_group(session):
    iam = boto3.client("iam")
    iam.create_group(GroupName="devs")
    iam.create_user(UserName="grouped")
    iam.add_user_to_group(GroupName="devs", UserName="grouped")
    iam.create_user(UserName="loner")
    found = {f.resource.id: f for f in only(scan(session, ["iam.user-in-group"]), "iam.user-in-group")}
    assert {k: f.status for k, f in found.items()} == {"grouped": Status.PASS, "loner": Status.FAIL}
    assert found["loner"].message == "user loner belongs to no group: add it to one"
    deny(session, "iam.GetAccountAuthorizationDetails")
    assert statuses(scan(session, ["iam.user-in-group"]), "iam.user-in-group") == [Status.ERROR]


# iam.user-long-lived-key-usage
LONG = "iam.user-long-lived-key-usage"


def test_long_lived_key_usage_by_service(session):
    iam = boto3.client("iam")
    for name in ("app", "human", "idle"):
        iam.create_user(UserName=name)
    iam.create_access_key(UserName="app")  # same creation second as the next key: told apart by last use
    _use_key(iam.create_access_key(UserName="app")["AccessKey"], "s3")
    _use_key(iam.create_access_key(UserName="human")["AccessKey"], "sts")
    iam.create_access_key(UserName="idle")
    result = scan(session, [LONG])
    found = {(f.resource.id, f.subkey): f for f in only(result, LONG)}
    assert {k: f.status for k, f in found.items()} == {
        ("app", "access_key_1"): Status.PASS, ("app", "access_key_2"): Status.FAIL,
        ("human", "access_key_1"): Status.PASS, ("idle", "access_key_1"): Status.PASS}
    app = found[("app", "access_key_2")]
    assert app.evidence["last_used_service"] == "s3" and "against s3" in app.message
    assert found[("idle", "access_key_1")].message == "user idle access key 1 never used"
    # moto's report leaves the service out, so the collector asked GetAccessKeyLastUsed for app's and human's keys
    calls = {k.split(":")[2]: n for k, n in result.api_calls.items() if k.startswith("iam:")}
    assert calls["ListAccessKeys"] == 2 and calls["GetAccessKeyLastUsed"] == 3
    later = {f.subkey: f.status for f in only(scan(session, [LONG], cfg=future(91)), LONG, resource=app.resource)}
    assert later["access_key_2"] is Status.PASS  # not used within the window any more


def _used_key_row(user: str, service: str) -> str:
    key = f"true,{ago(30)},{ago(2)}"
    return report_row(user, key1=("true", ago(30), ago(2))).replace(f"{key},N/A,N/A,", f"{key},eu-west-1,{service},")


def test_long_lived_key_usage_from_the_report_alone():
    inv = hand_inventory(_used_key_row("worker", "ec2"), _used_key_row("admin", "sts"), _used_key_row("odd", "N/A"))
    found = {f.resource.id: f for f in run(inv, LONG)}
    assert {k: f.status for k, f in found.items()} == {"worker": Status.FAIL, "admin": Status.PASS,
                                                       "odd": Status.ERROR}
    assert "names no service" in found["odd"].message  # used, service unknown: never a guess
    assert found["worker"].evidence == {"key_slot": 1, "last_used": ago(2), "last_used_service": "ec2",
                                        "window_days": 90}


def test_long_lived_key_usage_error_when_last_used_denied(session):
    iam = boto3.client("iam")
    iam.create_user(UserName="app")
    _use_key(iam.create_access_key(UserName="app")["AccessKey"], "s3")
    deny(session, "iam.GetAccessKeyLastUsed")
    [f] = only(scan(session, [LONG]), LONG)
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:GetAccessKeyLastUsed" and f.resource.id == "app"


# iam.expired-server-certificates
CERTS = "iam.expired-server-certificates"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def test_expired_certificate_fail_in_moto(session):
    boto3.client("iam").upload_server_certificate(ServerCertificateName="old", CertificateBody=PEM,
                                                  PrivateKey="not-a-key")
    [f] = only(scan(session, [CERTS]), CERTS)  # moto hard-codes Expiration to 2012
    assert f.status is Status.FAIL and f.resource.id == "old" and "expired on 2012-05-08" in f.message


def test_valid_certificate_pass_from_recorded_response(session):
    recorded(session, "iam.ListServerCertificates", {"IsTruncated": False, "ServerCertificateMetadataList": [
        {"Path": "/", "ServerCertificateName": "www", "ServerCertificateId": "ASCAEXAMPLE",
         "Arn": f"arn:aws:iam::{ACCOUNT}:server-certificate/www",
         "UploadDate": datetime(2026, 1, 1, tzinfo=timezone.utc),  # the parsed shape: datetimes, not text
         "Expiration": datetime(2027, 1, 1, tzinfo=timezone.utc)}]})
    cfg = future(0).with_overrides(now=datetime(2026, 6, 1, tzinfo=timezone.utc))
    [f] = only(scan(session, [CERTS], cfg=cfg), CERTS)
    assert f.status is Status.PASS and "valid until 2027-01-01" in f.message
    assert f.resource.type == "AWS::IAM::ServerCertificate"


def test_certificates_not_applicable_when_none_error_when_denied(session):
    assert statuses(scan(session, [CERTS]), CERTS) == [Status.NOT_APPLICABLE]
    deny(session, "iam.ListServerCertificates")
    assert statuses(scan(session, [CERTS]), CERTS) == [Status.ERROR]
