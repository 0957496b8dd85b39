"""Root user: MFA, no access keys (or at least rotated ones), hardware MFA, not used day to day, and
centralized root access management across the organization."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from auditor.collectors.iam import MFA_DEVICES, ORG_FEATURES, REPORT, SUMMARY, CredentialRow
from auditor.collectors.organizations import ORG
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check

_ROOT_MFA_SERIAL_SUFFIX = ":mfa/root-account-mfa-device"


def _credentials_removed(row: CredentialRow | None) -> bool:
    """Root credentials deleted (centralized root access): the report says 'false' for the password, a value
    it never gives a root user that has one ('not_supported'), and shows no key or certificate."""
    return row is not None and row.password_enabled is False and not row.active_keys() \
        and not row.cert_1_active and not row.cert_2_active and not row.mfa_active


@check("iam.root-mfa", needs=(SUMMARY,))
def root_mfa(inv: Inventory) -> Iterator[Finding]:
    """The root user can do anything, including closing the account; a password alone must not be enough."""
    summary = inv.iam.account_summary
    if summary is None:
        return
    enabled = summary.get("AccountMFAEnabled") == 1
    row = inv.iam.root_row()  # cross-check only: the credential report may be up to 4 hours old
    evidence = {"AccountMFAEnabled": summary.get("AccountMFAEnabled"),
                "credential_report_mfa_active": row.mfa_active if row else None}
    if enabled:
        note = " (the credential report, possibly older, still shows no MFA)" if row and row.mfa_active is False \
            else ""
        yield Finding.passed(inv.account(), f"root user has MFA enabled{note}", evidence=evidence)
    elif _credentials_removed(row):
        yield Finding.passed(inv.account(), "root user has no credentials (removed by centralized root access)",
                             evidence={**evidence, "root_credentials": "none"})
    else:
        yield Finding.failed(inv.account(), "root user has no MFA device: enable MFA for root",
                             evidence=evidence)


@check("iam.root-no-access-keys", needs=(SUMMARY, REPORT))
def root_no_access_keys(inv: Inventory) -> Iterator[Finding]:
    """Root access keys are unrestrictable long-lived credentials to everything in the account."""
    summary = inv.iam.account_summary
    if summary is None or inv.iam.credential_report is None:
        return
    row = inv.iam.root_row()
    active = [f"access key {slot}" for slot, _, _ in row.active_keys()] if row else []
    present = summary.get("AccountAccessKeysPresent") != 0
    evidence = {"AccountAccessKeysPresent": summary.get("AccountAccessKeysPresent"),
                "credential_report_active_keys": active, "root_row_in_report": row is not None}
    if present or active:
        what = ", ".join(active) or "access keys"
        yield Finding.failed(inv.account(), f"root user has {what}: delete them and use roles instead",
                             evidence=evidence)
    else:
        yield Finding.passed(inv.account(), "root user has no access keys", evidence=evidence)


@check("iam.root-hardware-mfa", needs=(SUMMARY, MFA_DEVICES))
def root_hardware_mfa(inv: Inventory) -> Iterator[Finding]:
    """A virtual MFA lives on a phone or laptop that can be lost, cloned or phished; CIS L2 asks for hardware."""
    summary, devices = inv.iam.account_summary, inv.iam.virtual_mfa_devices
    if summary is None or devices is None:
        return
    root_arn = inv.account().arn
    virtual = [d.serial for d in devices if d.serial.endswith(_ROOT_MFA_SERIAL_SUFFIX) or d.user_arn == root_arn]
    evidence = {"AccountMFAEnabled": summary.get("AccountMFAEnabled"), "root_virtual_mfa_devices": virtual}
    if summary.get("AccountMFAEnabled") != 1:
        yield Finding.failed(inv.account(), "root user has no MFA at all: enable a hardware MFA device",
                             evidence=evidence)
    elif virtual:
        yield Finding.failed(inv.account(), f"root user MFA is a virtual device ({', '.join(virtual)}): "
                             "replace it with a hardware key", evidence=evidence)
    else:
        yield Finding.passed(inv.account(), "root user MFA is a hardware device", evidence=evidence)


@check("iam.root-recent-usage", needs=(REPORT,))
def root_recent_usage(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Daily work as root leaves no least-privilege boundary and no per-person accountability."""
    if inv.iam.credential_report is None:
        return
    row = inv.iam.root_row()
    if row is None:
        yield Finding.with_status(Status.ERROR, inv.account(),
                                  "credential report has no <root_account> row: root usage unknown")
        return
    now, window = cfg.clock(), timedelta(days=cfg.root_usage_window_days)
    used = {"password_last_used": row.password_last_used,
            "access_key_1_last_used_date": row.access_key_1_last_used_date,
            "access_key_2_last_used_date": row.access_key_2_last_used_date}
    recent = {k: v for k, v in used.items() if v is not None and now - v <= window}
    evidence = {k: v.isoformat() if v else None for k, v in used.items()}
    evidence["window_days"] = cfg.root_usage_window_days
    if recent:
        last = max(recent.values())
        yield Finding.failed(inv.account(), f"root user was used on {last.date().isoformat()} "
                             f"(within the last {cfg.root_usage_window_days} days)", evidence=evidence)
    else:
        yield Finding.passed(inv.account(), f"root user not used in the last {cfg.root_usage_window_days} days",
                             evidence=evidence)


@check("iam.root-access-key-rotated", needs=(REPORT,))
def root_access_key_rotated(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """If root keys exist at all (iam.root-no-access-keys fails then), an old one has had the longest to leak."""
    if inv.iam.credential_report is None:
        return
    row = inv.iam.root_row()
    if row is None:
        yield Finding.with_status(Status.ERROR, inv.account(),
                                  "credential report has no <root_account> row: root access keys unknown")
        return
    now, limit = cfg.clock(), cfg.access_key_max_age_days
    if not row.active_keys():
        yield Finding.with_status(Status.NOT_APPLICABLE, inv.account(), "root user has no active access keys",
                                  evidence={"active_keys": []})
    for slot, rotated, used in row.active_keys():
        evidence = {"key_slot": slot, "last_rotated": rotated.isoformat() if rotated else None,
                    "last_used": used.isoformat() if used else None, "max_age_days": limit}
        sub = f"access_key_{slot}"
        if rotated is None:
            yield Finding.with_status(Status.ERROR, inv.account(), f"root access key {slot} is active but the "
                                      "report gives no rotation date", evidence=evidence, subkey=sub)
            continue
        age = (now - rotated).days
        evidence["age_days"] = age
        if now - rotated > timedelta(days=limit):
            yield Finding.failed(inv.account(), f"root access key {slot} is {age} days old (limit {limit}): "
                                 "delete it (or at least rotate it)", evidence=evidence, subkey=sub)
        else:
            yield Finding.passed(inv.account(), f"root access key {slot} is {age} days old (still: root should "
                                 "have no keys)", evidence=evidence, subkey=sub)


_ROOT_FEATURE = "RootCredentialsManagement"
_CANNOT_ENABLE = {"OrganizationNotInAllFeaturesModeException": "the organization does not use all features",
                  "ServiceAccessNotEnabledException": "trusted access for IAM is not enabled in Organizations"}


@check("iam.root-centralized-management", needs=(ORG_FEATURES, ORG))
def root_centralized_management(inv: Inventory) -> Iterator[Finding]:
    """Member accounts without root credentials cannot have them phished; the org manages root centrally."""
    org, features = inv.organizations, inv.iam.organizations_features
    ref = inv.setting("iam", "organizations-root-access")
    if org.in_organization is None or features is None:
        return
    evidence = {"in_organization": org.in_organization, "caller_is_management": org.caller_is_management,
                "enabled_features": features.enabled_features, "refused": features.refused}
    if not org.in_organization or features.refused == "OrganizationNotFoundException":
        yield Finding.with_status(Status.NOT_APPLICABLE, ref, "account is not in an organization: "
                                  "centralized root access does not apply", evidence=evidence)
    elif features.enabled_features is not None:
        enabled = _ROOT_FEATURE in features.enabled_features
        sessions = "RootSessions" in features.enabled_features
        evidence["RootSessions"] = sessions
        yield Finding.of(ref, passed=enabled, evidence=evidence, message=(
            f"centralized root access is enabled (root sessions {'enabled' if sessions else 'disabled'})"
            if enabled else "centralized root credentials management is not enabled: enable it in IAM "
            "(Root access management) so member accounts have no root credentials"))
    elif features.refused in _CANNOT_ENABLE:
        yield Finding.failed(ref, f"centralized root access is not enabled: {_CANNOT_ENABLE[features.refused]}",
                             evidence=evidence)
    elif not org.caller_is_management:
        yield Finding.with_status(Status.NOT_APPLICABLE, ref, "informational: this is a member account "
                                  f"({features.refused}); run from the management or a delegated-admin account",
                                  evidence=evidence)
    else:
        yield Finding.with_status(Status.ERROR, ref, f"the management account was refused "
                                  f"iam:ListOrganizationsFeatures ({features.refused}): grant it to the auditor",
                                  evidence=evidence)
