"""IAM users and their credentials: password policy, MFA, access keys (age, count, use), groups, certificates."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from auditor.collectors.iam import (
    AUTHORIZATION,
    KEY_USAGE,
    PASSWORD_POLICY,
    REPORT,
    SERVER_CERTIFICATES,
    CredentialRow,
    IamUser,
)
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check

_NO_POLICY = "the account has no password policy (AWS default: 8 characters, no complexity, reuse allowed)"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def service_identity(user: IamUser | None, cfg: AuditConfig) -> bool:
    """Tagged as a workload identity by config exempt_user_tag ("key=value", or "key" for any value)."""
    if user is None or not cfg.exempt_user_tag:
        return False
    key, sep, value = cfg.exempt_user_tag.partition("=")
    return key in user.tags and (not sep or user.tags[key] == value)


def _users_by_name(inv: Inventory) -> dict[str, IamUser]:
    return {u.name: u for u in inv.iam.users or []}


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


@check("iam.password-policy-expiry", needs=(PASSWORD_POLICY,))
def password_expiry(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Some baselines want periodic change; NIST and source 004 disagree, hence low severity (disable freely)."""
    policy, ref = inv.iam.password_policy, inv.setting("iam", "password-policy")
    if policy is None:
        return
    evidence = {"exists": policy.exists, "MaxPasswordAge": policy.max_age_days, "limit": cfg.password_max_age_days}
    if not policy.exists:
        yield Finding.failed(ref, _NO_POLICY, evidence=evidence)
    elif policy.max_age_days and policy.max_age_days <= cfg.password_max_age_days:
        yield Finding.passed(ref, f"passwords expire after {policy.max_age_days} days", evidence=evidence)
    else:
        now = f"after {policy.max_age_days} days" if policy.max_age_days else "never"
        yield Finding.failed(ref, f"passwords expire {now}: set a maximum age of {cfg.password_max_age_days} days "
                             "or less", evidence=evidence)


@check("iam.user-mfa-all", needs=(REPORT, AUTHORIZATION))
def user_mfa_all(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Keys leak as easily as passwords; a human user without MFA is one leaked credential from access."""
    users = _users_by_name(inv)
    for row in inv.iam.user_rows():
        evidence = {"mfa_active": row.mfa_active, "password_enabled": row.password_enabled,
                    "active_keys": [slot for slot, _, _ in row.active_keys()], "exempt_tag": cfg.exempt_user_tag}
        if service_identity(users.get(row.user), cfg):
            yield Finding.with_status(Status.NOT_APPLICABLE, row, f"user {row.user} is tagged as a workload "
                                      f"identity ({cfg.exempt_user_tag}): exempt", evidence=evidence)
        elif row.mfa_active:
            yield Finding.passed(row, f"user {row.user} has MFA", evidence=evidence)
        else:
            yield Finding.failed(row, f"user {row.user} has no MFA device: assign one (or tag a workload identity "
                                 f"{cfg.exempt_user_tag})", evidence=evidence)


@check("iam.user-single-active-key", needs=(REPORT,))
def user_single_active_key(inv: Inventory) -> Iterator[Finding]:
    """Two active keys double what can leak and usually mean an unfinished rotation."""
    for row in inv.iam.user_rows():
        slots = [slot for slot, _, _ in row.active_keys()]
        evidence = {"active_keys": slots}
        yield Finding.of(row, passed=len(slots) < 2, evidence=evidence, message=(
            f"user {row.user} has two active access keys: finish the rotation and deactivate one"
            if len(slots) >= 2 else f"user {row.user} has {len(slots)} active access key(s)"))


@check("iam.user-no-initial-access-key", needs=(REPORT,))
def user_no_initial_access_key(inv: Inventory) -> Iterator[Finding]:
    """A key created with a console user 'just in case' and never used is pure exposure."""
    for row in inv.iam.user_rows():
        keys = row.active_keys()
        if not row.password_enabled or not keys:
            continue
        unused = [slot for slot, _, used in keys if used is None]
        evidence = {"active_keys": [slot for slot, _, _ in keys], "never_used": unused,
                    "user_creation_time": _iso(row.user_creation_time)}
        names = " and ".join(f"access key {slot}" for slot in unused)
        yield Finding.of(row, passed=not unused, evidence=evidence, message=(
            f"console user {row.user} has {names} that was never used: delete it" if unused
            else f"console user {row.user} uses its access key(s)"))


@check("iam.user-in-group", needs=(AUTHORIZATION,))
def user_in_group(inv: Inventory) -> Iterator[Finding]:
    """Groups are where permissions are granted and reviewed; a user outside every group is managed ad hoc."""
    for user in inv.iam.users or []:
        yield Finding.of(user, passed=bool(user.groups), evidence={"groups": user.groups}, message=(
            f"user {user.name} is in group(s) {', '.join(user.groups)}" if user.groups
            else f"user {user.name} belongs to no group: add it to one"))


def _fallback_service(inv: Inventory, row: CredentialRow, rotated: datetime | None, used: datetime) -> str | None:
    """The service GetAccessKeyLastUsed gave for this report slot's key, matched on creation and last-use time
    (the report has no key id; both times are whole seconds there)."""
    def second(t: datetime | None) -> datetime | None:
        return t.replace(microsecond=0) if t else None
    same = [u for u in inv.iam.access_key_usage or [] if u.user == row.user and second(u.created) == second(rotated)]
    if len(same) > 1:  # created in the same second: the use time tells them apart
        same = [u for u in same if second(u.last_used) == second(used)]
    return same[0].service if len(same) == 1 else None


@check("iam.user-long-lived-key-usage", needs=(REPORT, KEY_USAGE))
def user_long_lived_key_usage(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Static keys driving workloads never expire; roles and federation give short-lived credentials instead."""
    now, days = cfg.clock(), cfg.long_lived_key_usage_days
    for row in inv.iam.user_rows():
        keys = ((1, row.access_key_1_active, row.access_key_1_last_rotated, row.access_key_1_last_used_date,
                 row.access_key_1_last_used_service),
                (2, row.access_key_2_active, row.access_key_2_last_rotated, row.access_key_2_last_used_date,
                 row.access_key_2_last_used_service))
        for slot, active, rotated, used, service in keys:
            if not active:
                continue
            service = service or (_fallback_service(inv, row, rotated, used) if used else None)
            evidence = {"key_slot": slot, "last_used": _iso(used), "last_used_service": service, "window_days": days}
            sub, recent = f"access_key_{slot}", used is not None and now - used <= timedelta(days=days)
            if not recent:
                when = "never used" if used is None else f"not used in the last {days} days"
                yield Finding.passed(row, f"user {row.user} access key {slot} {when}", evidence=evidence, subkey=sub)
            elif service is None:
                yield Finding.with_status(Status.ERROR, row, f"user {row.user} access key {slot} was used recently "
                                          "but the report names no service", evidence=evidence, subkey=sub)
            elif service.lower() in ("iam", "sts"):
                yield Finding.passed(row, f"user {row.user} access key {slot} is used only for {service} (role "
                                     "assumption / credential management)", evidence=evidence, subkey=sub)
            else:
                yield Finding.failed(row, f"user {row.user} access key {slot} was used against {service} on "
                                     f"{used.date().isoformat()}: move that workload to a role", evidence=evidence,
                                     subkey=sub)


@check("iam.expired-server-certificates", needs=(SERVER_CERTIFICATES,))
def expired_server_certificates(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """An expired certificate still attached somewhere breaks TLS; unattached, it is clutter that gets redeployed."""
    now = cfg.clock()
    for cert in inv.iam.server_certificates or []:
        evidence = {"expiration": _iso(cert.expiration), "upload_date": _iso(cert.upload_date)}
        if cert.expiration is None:
            yield Finding.with_status(Status.ERROR, cert, f"server certificate {cert.name} has no expiration date",
                                      evidence=evidence)
        elif cert.expiration < now:
            yield Finding.failed(cert, f"server certificate {cert.name} expired on {cert.expiration.date()}: "
                                 "delete it", evidence=evidence)
        else:
            yield Finding.passed(cert, f"server certificate {cert.name} valid until {cert.expiration.date()}",
                                 evidence=evidence)
