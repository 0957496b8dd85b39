"""IAM users and their credentials: password policy, console MFA, key rotation, unused credentials, direct policies."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from auditor.collectors.iam import AUTHORIZATION, PASSWORD_POLICY, REPORT
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.registry import check

_NO_POLICY = "the account has no password policy (AWS default: 8 characters, no complexity, reuse allowed)"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@check("iam.password-policy-min-length", needs=(PASSWORD_POLICY,))
def password_min_length(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Short passwords fall to guessing and spraying."""
    policy, ref = inv.iam.password_policy, inv.setting("iam", "password-policy")
    if policy is None:
        return
    evidence = {"exists": policy.exists, "MinimumPasswordLength": policy.minimum_length,
                "required": cfg.password_min_length}
    if not policy.exists:
        yield Finding.failed(ref, _NO_POLICY, evidence=evidence)
    elif (policy.minimum_length or 0) >= cfg.password_min_length:
        yield Finding.passed(ref, f"password policy requires {policy.minimum_length} characters", evidence=evidence)
    else:
        yield Finding.failed(ref, f"password policy requires only {policy.minimum_length} characters: "
                             f"raise it to {cfg.password_min_length}", evidence=evidence)


@check("iam.password-policy-reuse", needs=(PASSWORD_POLICY,))
def password_reuse(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Reused passwords bring back credentials that have already leaked."""
    policy, ref = inv.iam.password_policy, inv.setting("iam", "password-policy")
    if policy is None:
        return
    evidence = {"exists": policy.exists, "PasswordReusePrevention": policy.reuse_prevention,
                "required": cfg.password_reuse_prevention}
    if not policy.exists:
        yield Finding.failed(ref, _NO_POLICY, evidence=evidence)
    elif (policy.reuse_prevention or 0) >= cfg.password_reuse_prevention:
        yield Finding.passed(ref, f"password policy prevents reuse of the last {policy.reuse_prevention} passwords",
                             evidence=evidence)
    else:
        now = f"prevents reuse of only the last {policy.reuse_prevention} passwords" if policy.reuse_prevention \
            else "does not prevent password reuse"
        yield Finding.failed(ref, f"password policy {now}: set reuse prevention to {cfg.password_reuse_prevention}",
                             evidence=evidence)


@check("iam.password-policy-complexity", needs=(PASSWORD_POLICY,))
def password_complexity(inv: Inventory) -> Iterator[Finding]:
    """Character classes widen the search space of a password of a given length."""
    policy, ref = inv.iam.password_policy, inv.setting("iam", "password-policy")
    if policy is None:
        return
    classes = {"uppercase": policy.require_uppercase, "lowercase": policy.require_lowercase,
               "numbers": policy.require_numbers, "symbols": policy.require_symbols}
    missing = [name for name, required in classes.items() if not required]
    evidence = {"exists": policy.exists, "required_classes": classes}
    if not policy.exists:
        yield Finding.failed(ref, _NO_POLICY, evidence=evidence)
    elif missing:
        yield Finding.failed(ref, f"password policy does not require {', '.join(missing)}", evidence=evidence)
    else:
        yield Finding.passed(ref, "password policy requires uppercase, lowercase, numbers and symbols",
                             evidence=evidence)


@check("iam.user-console-mfa", needs=(REPORT,))
def user_console_mfa(inv: Inventory) -> Iterator[Finding]:
    """A console password without MFA is one phishing email away from account access."""
    for row in inv.iam.user_rows():
        if not row.password_enabled:
            continue
        evidence = {"password_enabled": True, "mfa_active": row.mfa_active,
                    "password_last_used": _iso(row.password_last_used),
                    "report_generated": _iso(inv.iam.credential_report_generated)}
        if row.mfa_active:
            yield Finding.passed(row, f"user {row.user} has a console password and MFA", evidence=evidence)
        else:
            yield Finding.failed(row, f"user {row.user} has a console password but no MFA", evidence=evidence)


@check("iam.access-key-rotation", needs=(REPORT,))
def access_key_rotation(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Old keys have had the longest time to leak into laptops, logs and repositories."""
    now, limit = cfg.clock(), timedelta(days=cfg.access_key_max_age_days)
    for row in inv.iam.user_rows():
        for slot, rotated, used in row.active_keys():
            evidence = {"key_slot": slot, "last_rotated": _iso(rotated), "last_used": _iso(used),
                        "max_age_days": cfg.access_key_max_age_days}
            sub = f"access_key_{slot}"
            if rotated is None:
                continue  # an active key always has a creation date; nothing to judge without one
            age = (now - rotated).days
            evidence["age_days"] = age
            if now - rotated > limit:
                yield Finding.failed(row, f"user {row.user} access key {slot} is {age} days old "
                                     f"(limit {cfg.access_key_max_age_days}): rotate it", evidence=evidence, subkey=sub)
            else:
                yield Finding.passed(row, f"user {row.user} access key {slot} is {age} days old",
                                     evidence=evidence, subkey=sub)


@check("iam.user-unused-credentials", needs=(REPORT,))
def user_unused_credentials(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Credentials nobody uses are pure risk: disable them (CIS: unused for 45 days)."""
    now, limit, n = cfg.clock(), timedelta(days=cfg.credential_max_unused_days), cfg.credential_max_unused_days
    for row in inv.iam.user_rows():
        checks: list[tuple[str, str, datetime | None, bool]] = []
        if row.password_enabled:
            last = row.password_last_used or row.user_creation_time
            checks.append(("password", "console password", last, row.password_last_used is None))
        for slot, rotated, used in row.active_keys():
            checks.append((f"access_key_{slot}", f"access key {slot}", used or rotated, used is None))
        for sub, label, last, never in checks:
            if last is None:
                continue
            idle = (now - last).days
            since = "never used; created" if never else "last used"
            evidence = {"credential": sub, "never_used": never, "since": _iso(last), "idle_days": idle,
                        "max_unused_days": n}
            if now - last > limit:
                yield Finding.failed(row, f"user {row.user} {label} unused for {idle} days ({since} "
                                     f"{last.date().isoformat()}): disable it", evidence=evidence, subkey=sub)
            else:
                yield Finding.passed(row, f"user {row.user} {label} {since} {idle} days ago", evidence=evidence,
                                     subkey=sub)


@check("iam.user-no-direct-policies", needs=(AUTHORIZATION,))
def user_no_direct_policies(inv: Inventory) -> Iterator[Finding]:
    """Permissions granted per user drift apart and are never reviewed; grant them through groups."""
    for user in inv.iam.users or []:
        attached = [p.name for p in user.attached_policies]
        inline = [p.name for p in user.inline_policies]
        evidence = {"attached_policies": attached, "inline_policies": inline, "groups": user.groups}
        parts = [f"{kind} polic{'ies' if len(names) > 1 else 'y'} {', '.join(names)}"
                 for kind, names in (("attached", attached), ("inline", inline)) if names]
        if parts:
            yield Finding.failed(user, f"user {user.name} has {' and '.join(parts)}: move them to a group",
                                 evidence=evidence)
        else:
            yield Finding.passed(user, f"user {user.name} gets permissions only through groups", evidence=evidence)
