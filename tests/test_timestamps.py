"""The fast timestamp path gives botocore's instants for every form AWS sends, and defers on the rest."""
from __future__ import annotations

from datetime import timezone

import pytest
from botocore.utils import parse_timestamp

from auditor.session import AuditSession
from auditor.timestamps import fast_timestamp


@pytest.mark.parametrize("value", [
    "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05.1Z",
    "2024-01-02T03:04:05.123456789Z",  # nanoseconds: truncated to microseconds, as dateutil does
    "2024-01-02T03:04:05+02:00", "2024-01-02T03:04:05-05:30",
    "2024-01-02T03:04:05",  # no zone: botocore's own parser (naive, as before)
    "Tue, 02 Jan 2024 03:04:05 GMT", 1704164645.5, 1704164645, "1704164645",
])
def test_same_instant_as_botocore(value):
    ours, theirs = fast_timestamp(value), parse_timestamp(value)
    assert ours == theirs and (ours.tzinfo is None) == (theirs.tzinfo is None)


def test_an_impossible_date_fails_as_botocore_fails():
    with pytest.raises(ValueError):
        parse_timestamp("2024-13-02T03:04:05Z")
    with pytest.raises(ValueError):
        fast_timestamp("2024-13-02T03:04:05Z")


def test_epochs_and_z_come_out_in_utc():
    assert fast_timestamp(0).tzinfo is timezone.utc
    assert fast_timestamp("2024-01-02T03:04:05Z").utcoffset().total_seconds() == 0


def test_clients_parse_with_it(aws):
    import boto3

    boto3.client("iam", region_name="us-east-1").create_user(UserName="alice")
    created = AuditSession(region="us-east-1").client("iam").get_user(UserName="alice")["User"]["CreateDate"]
    assert created.tzinfo is timezone.utc  # dateutil would have given tzutc()/tzlocal()
