from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto.iam.models import iam_backends

from auditor.collectors import COLLECTORS
from auditor.collectors.iam import IamSection, OrganizationsFeatures, VirtualMfaDevice
from auditor.collectors.organizations import OrganizationsSection
from auditor.config import AuditConfig
from auditor.credential_report import parse_credential_report
from auditor.inventory import Inventory
from auditor.models import Finding, Identity, Status
from auditor.registry import CHECKS
from auditor.runner import evaluate, load_checks
from tests.collectors.test_iam import FEATURES, recorded
from tests.conftest import ACCOUNT, deny, only, scan, statuses

HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,"
          "access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def ago(days: int) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def report_row(user: str = "<root_account>", *, password: str = "not_supported", password_used: str = "N/A",
               mfa: str = "true", key1: tuple[str, str, str] = ("false", "N/A", "N/A"),
               key2: tuple[str, str, str] = ("false", "N/A", "N/A"), created: str | None = None) -> str:
    """One credential-report line; key = (active, last_rotated, last_used_date)."""
    arn = f"arn:aws:iam::{ACCOUNT}:root" if user == "<root_account>" else f"arn:aws:iam::{ACCOUNT}:user/{user}"
    return ",".join([user, arn, created or ago(400), password, password_used, "N/A", "N/A", mfa,
                     key1[0], key1[1], key1[2], "N/A", "N/A", key2[0], key2[1], key2[2], "N/A", "N/A",
                     "false", "N/A", "false", "N/A"])


def hand_inventory(*rows: str, summary: dict[str, int] | None = None, **fields: Any) -> Inventory:
    """An Inventory built by hand: the only way to show moto-impossible states (root rows, used passwords)."""
    report = parse_credential_report("\n".join([HEADER, *rows]) + "\n")
    section = IamSection(credential_report=report,
                         account_summary=summary or {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0},
                         **fields)
    return Inventory(identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/auditor"),
                     regions=["us-east-1"], collected_at=NOW, datasets=sorted(COLLECTORS.get("iam").datasets),
                     sections={"iam": section})


def run(inv: Inventory, check_id: str, **cfg: Any) -> list[Finding]:
    load_checks()
    return evaluate(inv, [CHECKS.get(check_id)], AuditConfig(now=NOW, **cfg))


@pytest.fixture
def root_summary():
    """moto hard-codes root MFA and root keys to 0; this is the AccountSummary object behind GetAccountSummary."""
    return iam_backends[ACCOUNT]["global"].account_summary


# iam.root-mfa
def test_root_mfa_pass_when_summary_says_enabled(session, root_summary):
    root_summary._account_mfa_enabled = 1
    [f] = only(scan(session, ["iam.root-mfa"]), "iam.root-mfa")
    assert f.status is Status.PASS and f.resource.type == "AWS::::Account" and f.evidence["AccountMFAEnabled"] == 1


def test_root_mfa_fail_by_default_in_moto(session):
    assert statuses(scan(session, ["iam.root-mfa"]), "iam.root-mfa") == [Status.FAIL]


def test_root_mfa_error_when_summary_denied(session):
    deny(session, "iam.GetAccountSummary")
    [f] = only(scan(session, ["iam.root-mfa"]), "iam.root-mfa")
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:GetAccountSummary"


def test_root_mfa_report_denied_does_not_block_the_verdict(session):
    deny(session, "iam.GetCredentialReport")
    assert statuses(scan(session, ["iam.root-mfa"]), "iam.root-mfa") == [Status.FAIL]


def test_root_mfa_pass_when_root_credentials_were_removed():
    inv = hand_inventory(report_row(password="false", mfa="false"), summary={"AccountMFAEnabled": 0})
    [f] = run(inv, "iam.root-mfa")
    assert f.status is Status.PASS and "no credentials" in f.message


def test_root_mfa_cross_check_is_reported():
    inv = hand_inventory(report_row(mfa="false"), summary={"AccountMFAEnabled": 1})
    [f] = run(inv, "iam.root-mfa")
    assert f.status is Status.PASS and f.evidence["credential_report_mfa_active"] is False
    [f] = run(hand_inventory(report_row(mfa="false"), summary={"AccountMFAEnabled": 0}), "iam.root-mfa")
    assert f.status is Status.FAIL  # 'not_supported' password: credentials may exist


# iam.root-no-access-keys
def test_root_keys_pass_in_moto(session):
    assert statuses(scan(session, ["iam.root-no-access-keys"]), "iam.root-no-access-keys") == [Status.PASS]


def test_root_keys_fail_from_summary(session, root_summary):
    root_summary._account_access_keys_present = 1
    assert statuses(scan(session, ["iam.root-no-access-keys"]), "iam.root-no-access-keys") == [Status.FAIL]


def test_root_keys_fail_from_report_row_names_the_key():
    inv = hand_inventory(report_row(key2=("true", ago(30), ago(1))))
    [f] = run(inv, "iam.root-no-access-keys")
    assert f.status is Status.FAIL and "access key 2" in f.message
    [f] = run(hand_inventory(report_row()), "iam.root-no-access-keys")
    assert f.status is Status.PASS and f.evidence["root_row_in_report"] is True


@pytest.mark.parametrize("op", ["iam.GetCredentialReport", "iam.GetAccountSummary"])
def test_root_keys_error_when_either_source_denied(session, op):
    deny(session, op)
    assert statuses(scan(session, ["iam.root-no-access-keys"]), "iam.root-no-access-keys") == [Status.ERROR]


# iam.root-hardware-mfa
def test_hardware_mfa_pass_when_enabled_and_no_virtual_root_device(session, root_summary):
    root_summary._account_mfa_enabled = 1
    assert statuses(scan(session, ["iam.root-hardware-mfa"]), "iam.root-hardware-mfa") == [Status.PASS]


def test_hardware_mfa_fail_when_root_device_is_virtual(session, root_summary):
    root_summary._account_mfa_enabled = 1
    iam = boto3.client("iam")
    iam.create_user(UserName="stand-in")  # moto cannot assign a device to root; the serial is what counts
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")["VirtualMFADevice"]
    iam.enable_mfa_device(UserName="stand-in", SerialNumber=serial["SerialNumber"], AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    [f] = only(scan(session, ["iam.root-hardware-mfa"]), "iam.root-hardware-mfa")
    assert f.status is Status.FAIL and "virtual" in f.message


def test_hardware_mfa_fail_when_virtual_device_user_is_root():
    device = VirtualMfaDevice(serial=f"arn:aws:iam::{ACCOUNT}:mfa/my-phone", user_arn=f"arn:aws:iam::{ACCOUNT}:root")
    [f] = run(hand_inventory(virtual_mfa_devices=[device]), "iam.root-hardware-mfa")
    assert f.status is Status.FAIL and f.evidence["root_virtual_mfa_devices"] == [device.serial]


def test_hardware_mfa_fail_without_mfa_and_error_when_devices_denied(session):
    assert statuses(scan(session, ["iam.root-hardware-mfa"]), "iam.root-hardware-mfa") == [Status.FAIL]
    deny(session, "iam.ListVirtualMFADevices")
    [f] = only(scan(session, ["iam.root-hardware-mfa"]), "iam.root-hardware-mfa")
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:ListVirtualMFADevices"


# iam.root-recent-usage
def test_root_usage_fail_when_password_used_recently():
    [f] = run(hand_inventory(report_row(password_used=ago(3))), "iam.root-recent-usage")
    assert f.status is Status.FAIL and ago(3)[:10] in f.message
    assert f.evidence["password_last_used"] == ago(3)


def test_root_usage_fail_when_key_used_recently_and_window_is_configurable():
    inv = hand_inventory(report_row(key1=("true", ago(500), ago(10))))
    assert [f.status for f in run(inv, "iam.root-recent-usage")] == [Status.FAIL]
    assert [f.status for f in run(inv, "iam.root-recent-usage", root_usage_window_days=7)] == [Status.PASS]


def test_root_usage_pass_when_old_or_never_used():
    [f] = run(hand_inventory(report_row(password_used=ago(200))), "iam.root-recent-usage")
    assert f.status is Status.PASS
    assert [f.status for f in run(hand_inventory(report_row()), "iam.root-recent-usage")] == [Status.PASS]


def test_root_usage_error_without_root_row_or_report(session):
    [f] = only(scan(session, ["iam.root-recent-usage"]), "iam.root-recent-usage")  # moto: no root row
    assert f.status is Status.ERROR and "<root_account>" in f.message
    deny(session, "iam.GenerateCredentialReport")
    [f] = only(scan(session, ["iam.root-recent-usage"]), "iam.root-recent-usage")
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:GenerateCredentialReport"


# iam.root-access-key-rotated
def test_root_key_rotation_fail_pass_per_key():
    inv = hand_inventory(report_row(key1=("true", ago(200), ago(1)), key2=("true", ago(10), "N/A")))
    found = {f.subkey: f for f in run(inv, "iam.root-access-key-rotated")}
    assert {k: f.status for k, f in found.items()} == {"access_key_1": Status.FAIL, "access_key_2": Status.PASS}
    assert found["access_key_1"].evidence["age_days"] == 200 and "root access key 1" in found["access_key_1"].message
    assert found["access_key_1"].resource.type == "AWS::::Account"
    assert {f.status for f in run(inv, "iam.root-access-key-rotated", access_key_max_age_days=365)} == {Status.PASS}


def test_root_key_rotation_not_applicable_without_root_keys():
    [f] = run(hand_inventory(report_row(key1=("false", ago(500), "N/A"))), "iam.root-access-key-rotated")
    assert f.status is Status.NOT_APPLICABLE and "no active access keys" in f.message


def test_root_key_rotation_error_without_root_row_or_report(session):
    [f] = only(scan(session, ["iam.root-access-key-rotated"]), "iam.root-access-key-rotated")  # moto: no root row
    assert f.status is Status.ERROR and "<root_account>" in f.message
    deny(session, "iam.GetCredentialReport")
    [f] = only(scan(session, ["iam.root-access-key-rotated"]), "iam.root-access-key-rotated")
    assert f.status is Status.ERROR and f.gap.iam_action == "iam:GetCredentialReport"


# iam.root-centralized-management
CENTRAL = "iam.root-centralized-management"


def _org() -> None:
    boto3.client("organizations").create_organization(FeatureSet="ALL")  # moto: the caller is the management account


def test_central_root_pass_from_management_account(session):
    _org()
    recorded(session, "iam.ListOrganizationsFeatures", FEATURES)
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.PASS and f.evidence["RootSessions"] is True and "root sessions enabled" in f.message


@pytest.mark.parametrize(("answer", "error"), [({"OrganizationId": "o-1", "EnabledFeatures": []}, ""),
                                               ({"OrganizationId": "o-1", "EnabledFeatures": ["RootSessions"]}, ""),
                                               (None, "ServiceAccessNotEnabledException"),
                                               (None, "OrganizationNotInAllFeaturesModeException")])
def test_central_root_fail(session, answer, error):
    _org()
    recorded(session, "iam.ListOrganizationsFeatures", answer, error=error)
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.FAIL and "not enabled" in f.message


def test_central_root_not_applicable_outside_an_organization(session):
    recorded(session, "iam.ListOrganizationsFeatures", error="OrganizationNotFoundException")
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.NOT_APPLICABLE and "not in an organization" in f.message


def _org_inventory(features: OrganizationsFeatures, management: bool) -> Inventory:
    org = OrganizationsSection(in_organization=True, caller_is_management=management)
    datasets = sorted({*COLLECTORS.get("iam").datasets, *COLLECTORS.get("organizations").datasets})
    return Inventory(identity=Identity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/auditor"),
                     regions=["us-east-1"], collected_at=NOW, datasets=datasets,
                     sections={"iam": IamSection(organizations_features=features), "organizations": org})


@pytest.mark.parametrize("code", ["AccessDenied", "AccountNotManagementOrDelegatedAdministratorException"])
def test_central_root_informational_from_a_member_account(code):
    [f] = run(_org_inventory(OrganizationsFeatures(refused=code), management=False), CENTRAL)
    assert f.status is Status.NOT_APPLICABLE and "member account" in f.message and f.evidence["refused"] == code


def test_central_root_delegated_admin_member_is_judged():
    feats = OrganizationsFeatures(enabled_features=["RootCredentialsManagement"], organization_id="o-1")
    assert [f.status for f in run(_org_inventory(feats, management=False), CENTRAL)] == [Status.PASS]


def test_central_root_error_when_management_is_refused_or_reads_fail(session):
    _org()
    deny(session, "iam.ListOrganizationsFeatures")  # AccessDenied on the management account: a reason, not a pass
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.ERROR and "iam:ListOrganizationsFeatures" in f.message


def test_central_root_error_when_unsupported_or_org_unreadable(session):
    [f] = only(scan(session, [CENTRAL]), CENTRAL)  # moto lacks ListOrganizationsFeatures
    assert f.status is Status.ERROR and f.gap.error_code == "Unsupported"
    recorded(session, "iam.ListOrganizationsFeatures", FEATURES)
    deny(session, "organizations.DescribeOrganization")
    [f] = only(scan(session, [CENTRAL]), CENTRAL)
    assert f.status is Status.ERROR and f.gap.iam_action == "organizations:DescribeOrganization"
