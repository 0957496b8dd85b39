from __future__ import annotations

from datetime import datetime, timezone

import pytest

from auditor.credential_report import ROOT_USER, CredentialReportError, parse_credential_report

HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,"
          "access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated")
# As AWS writes them: root first, sentinels instead of empty cells.
ROOT = ("<root_account>,arn:aws:iam::123456789012:root,2019-01-01T10:00:00+00:00,not_supported,"
        "2026-03-01T08:30:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,"
        "true,2020-05-05T00:00:00+00:00,2026-02-27T12:00:00+00:00,us-east-1,s3,false,N/A,false,N/A")
ALICE = ("alice,arn:aws:iam::123456789012:user/alice,2025-06-01T09:00:00+00:00,true,no_information,"
         "2025-06-01T09:00:00+00:00,N/A,false,true,2025-06-01T09:05:00Z,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,"
         "false,N/A,false,N/A")
BOB = ("bob,arn:aws:iam::123456789012:user/bob,2025-07-01T09:00:00+00:00,false,N/A,N/A,N/A,false,false,"
       "N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,true,2025-07-01T09:00:00+00:00,false,N/A")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_root_row_and_sentinels():
    rows = parse_credential_report("\n".join([HEADER, BOB, ROOT, ALICE]) + "\n")
    assert [r.user for r in rows] == [ROOT_USER, "alice", "bob"]  # sorted, root first
    root = rows[0]
    assert root.is_root and root.arn.endswith(":root") and root.account_id == "123456789012"
    assert root.password_enabled is None  # not_supported, never False
    assert root.password_last_used == _utc(2026, 3, 1, 8, 30)
    assert root.mfa_active is True
    assert root.active_keys() == [(2, _utc(2020, 5, 5), _utc(2026, 2, 27, 12))]
    assert root.access_key_2_last_used_service == "s3" and root.access_key_1_last_used_service is None


def test_user_rows_no_information_and_z_suffix():
    alice = parse_credential_report(f"{HEADER}\n{ALICE}\n")[0]
    assert not alice.is_root and alice.resource_type == "AWS::IAM::User" and alice.id == "alice"
    assert alice.password_enabled is True and alice.password_last_used is None  # no_information
    assert alice.mfa_active is False
    assert alice.active_keys() == [(1, _utc(2025, 6, 1, 9, 5), None)]
    bob = parse_credential_report(f"{HEADER}\n{BOB}\n".encode())[0]  # the API returns bytes
    assert bob.password_enabled is False and bob.password_last_used is None and bob.cert_1_active
    assert bob.active_keys() == []


def test_header_only_is_an_empty_report_and_extra_columns_are_ignored():
    assert parse_credential_report(HEADER + "\n") == []
    row = parse_credential_report(f"{HEADER},new_column\n{ALICE},whatever\n")[0]
    assert row.user == "alice"


def test_unknown_date_sentinel_is_no_date():
    row = parse_credential_report(f"{HEADER}\n{ALICE.replace('no_information', 'not_available_yet')}\n")[0]
    assert row.password_last_used is None


def test_garbage_is_rejected():
    with pytest.raises(CredentialReportError):
        parse_credential_report(b"<html>nope</html>")
    with pytest.raises(CredentialReportError):
        parse_credential_report("")
