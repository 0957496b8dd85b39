"""The IAM credential report (iam:GetCredentialReport) parsed into typed rows.

The CSV uses sentinel strings instead of empty cells: 'N/A' (no such credential), 'no_information'
(never used, or used before tracking began) and 'not_supported' (the field does not apply, e.g. the root
user's password_enabled). All three become None; only 'true'/'false' become booleans.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import ClassVar

from auditor.models import Resource

ROOT_USER = "<root_account>"
_SENTINELS = frozenset({"", "N/A", "no_information", "not_supported"})


class CredentialRow(Resource):
    """One line of the report: an IAM user (resource type User) or the root user (user == ROOT_USER)."""

    resource_type: ClassVar[str] = "AWS::IAM::User"
    user: str
    user_creation_time: datetime | None = None
    password_enabled: bool | None = None  # None: not_supported (always so for root)
    password_last_used: datetime | None = None
    password_last_changed: datetime | None = None
    mfa_active: bool | None = None
    access_key_1_active: bool = False
    access_key_1_last_rotated: datetime | None = None
    access_key_1_last_used_date: datetime | None = None
    access_key_1_last_used_service: str | None = None
    access_key_2_active: bool = False
    access_key_2_last_rotated: datetime | None = None
    access_key_2_last_used_date: datetime | None = None
    access_key_2_last_used_service: str | None = None
    cert_1_active: bool = False
    cert_2_active: bool = False

    @property
    def is_root(self) -> bool:
        return self.user == ROOT_USER

    def access_keys(self) -> list[tuple[int, bool, datetime | None, datetime | None]]:
        """(slot, active, last_rotated, last_used) for access keys 1 and 2."""
        return [(1, self.access_key_1_active, self.access_key_1_last_rotated, self.access_key_1_last_used_date),
                (2, self.access_key_2_active, self.access_key_2_last_rotated, self.access_key_2_last_used_date)]

    def active_keys(self) -> list[tuple[int, datetime | None, datetime | None]]:
        return [(slot, rotated, used) for slot, active, rotated, used in self.access_keys() if active]


class CredentialReportError(ValueError):
    """The report content is not the CSV AWS documents (no header, no user/arn columns)."""


def _flag(value: str | None) -> bool | None:
    v = (value or "").strip().lower()
    return True if v == "true" else False if v == "false" else None


def _date(value: str | None) -> datetime | None:
    v = (value or "").strip()
    if v in _SENTINELS:
        return None
    try:
        parsed = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None  # an unknown sentinel AWS might add: treat as "no date", never as a crash
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _text(value: str | None) -> str | None:
    v = (value or "").strip()
    return None if v in _SENTINELS else v


def parse_credential_report(content: bytes | str) -> list[CredentialRow]:
    """Rows sorted by user name (the root row, '<root_account>', sorts first)."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or not {"user", "arn"} <= set(reader.fieldnames):
        raise CredentialReportError("credential report has no 'user'/'arn' header")
    rows = []
    for raw in reader:
        if not raw.get("user"):
            continue
        arn = raw["arn"].strip()
        parts = arn.split(":")
        rows.append(CredentialRow(
            arn=arn, id=raw["user"], user=raw["user"], account_id=parts[4] if len(parts) > 4 else "",
            user_creation_time=_date(raw.get("user_creation_time")),
            password_enabled=_flag(raw.get("password_enabled")),
            password_last_used=_date(raw.get("password_last_used")),
            password_last_changed=_date(raw.get("password_last_changed")),
            mfa_active=_flag(raw.get("mfa_active")),
            access_key_1_active=_flag(raw.get("access_key_1_active")) is True,
            access_key_1_last_rotated=_date(raw.get("access_key_1_last_rotated")),
            access_key_1_last_used_date=_date(raw.get("access_key_1_last_used_date")),
            access_key_1_last_used_service=_text(raw.get("access_key_1_last_used_service")),
            access_key_2_active=_flag(raw.get("access_key_2_active")) is True,
            access_key_2_last_rotated=_date(raw.get("access_key_2_last_rotated")),
            access_key_2_last_used_date=_date(raw.get("access_key_2_last_used_date")),
            access_key_2_last_used_service=_text(raw.get("access_key_2_last_used_service")),
            cert_1_active=_flag(raw.get("cert_1_active")) is True,
            cert_2_active=_flag(raw.get("cert_2_active")) is True,
        ))
    return sorted(rows, key=lambda r: r.user)
