from __future__ import annotations

import boto3
import pytest

from auditor.models import Status
from tests.collectors.test_organizations import respond
from tests.conftest import deny, only, scan, statuses

SECURITY = "account.security-contact"
COMPLETE = "account.alternate-contacts-complete"


def _contact(kind: str, email: str) -> None:
    boto3.client("account", region_name="us-east-1").put_alternate_contact(
        AlternateContactType=kind, Name=f"{kind.title()} Team", Title="Team", EmailAddress=email,
        PhoneNumber="+1-555-0100")


def test_security_contact_pass(session):
    _contact("SECURITY", "security@example.com")
    [f] = only(scan(session, [SECURITY]), SECURITY)
    assert f.status is Status.PASS and f.evidence["email"] == "security@example.com"
    assert f.evidence["phone_set"] is True and "phone" not in f.evidence


def test_security_contact_fail_when_absent(session):
    _contact("BILLING", "billing@example.com")
    [f] = only(scan(session, [SECURITY]), SECURITY)
    assert f.status is Status.FAIL and "no security alternate contact" in f.message


def test_security_contact_fail_when_incomplete(session):
    respond(session, "account.GetAlternateContact", {"AlternateContact": {
        "AlternateContactType": "SECURITY", "Name": "Sec", "EmailAddress": "sec@example.com"}})
    [f] = only(scan(session, [SECURITY]), SECURITY)
    assert f.status is Status.FAIL and "lacks phone" in f.message


def test_security_contact_error(session):
    _contact("SECURITY", "security@example.com")
    deny(session, "account.GetAlternateContact")
    [f] = only(scan(session, [SECURITY]), SECURITY)
    assert f.status is Status.ERROR and f.gap.iam_action == "account:GetAlternateContact"


def test_alternate_contacts_complete_pass(session):
    for kind in ("BILLING", "OPERATIONS", "SECURITY"):
        _contact(kind, f"{kind.lower()}@example.com")
    [f] = only(scan(session, [COMPLETE]), COMPLETE)
    assert f.status is Status.PASS
    assert f.evidence["contacts"]["BILLING"]["email"] == "billing@example.com" and "attestation" in f.evidence


@pytest.mark.parametrize("emails,words", [
    ({"SECURITY": "sec@example.com"}, "missing BILLING, OPERATIONS"),
    ({"BILLING": "ops@example.com", "OPERATIONS": "OPS@example.com", "SECURITY": "sec@example.com"},
     "BILLING and OPERATIONS share ops@example.com"),
])
def test_alternate_contacts_complete_fail(session, emails, words):
    for kind, email in emails.items():
        _contact(kind, email)
    [f] = only(scan(session, [COMPLETE]), COMPLETE)
    assert f.status is Status.FAIL and words in f.message


def test_alternate_contacts_complete_error(session):
    deny(session, "account.GetAlternateContact")
    assert statuses(scan(session, [COMPLETE]), COMPLETE) == [Status.ERROR]


def test_primary_contact_is_enrichment_from_a_recorded_response(session):
    # moto lacks GetContactInformation: without the fixture the read is a gap that blinds no check.
    [f] = only(scan(session, [COMPLETE]), COMPLETE)
    assert f.status is Status.FAIL and "not readable" in f.evidence["primary_contact"]
    respond(session, "account.GetContactInformation", {"ContactInformation": {
        "FullName": "Jane Founder", "CompanyName": "Acme", "CountryCode": "US", "PhoneNumber": "+15550100",
        "AddressLine1": "1 Main St", "City": "Springfield", "PostalCode": "12345"}})
    [f] = only(scan(session, [COMPLETE]), COMPLETE)
    assert f.evidence["primary_contact"] == {"full_name": "Jane Founder", "company_name": "Acme",
                                             "country_code": "US", "phone_set": True}
