"""Account contacts: AWS must be able to reach the right people about security, billing and operations."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.account import ALTERNATE_CONTACTS, CONTACT_TYPES, AlternateContact
from auditor.inventory import Inventory
from auditor.models import Finding
from auditor.registry import check


def _shown(c: AlternateContact) -> dict[str, Any]:
    # Addresses are reported for the attestation (is it a distribution list?); the phone number is not needed.
    return {"name": c.name, "title": c.title, "email": c.email, "phone_set": bool(c.phone)}


@check("account.security-contact", needs=(ALTERNATE_CONTACTS,))
def security_contact(inv: Inventory) -> Iterator[Finding]:
    """AWS sends abuse and compromise notices to the security contact; without one they reach nobody in charge."""
    contact = inv.contacts.contact("SECURITY")
    if contact is None:
        return  # not read: the gap makes this ERROR
    setting = inv.setting("account", "alternate-contact/SECURITY")
    if not contact.configured:
        yield Finding.failed(setting, f"account {inv.account_id} has no security alternate contact")
        return
    missing = [f for f, v in (("name", contact.name), ("email", contact.email), ("phone", contact.phone)) if not v]
    yield Finding.of(setting, passed=not missing, evidence=_shown(contact),
                     message=f"security contact lacks {', '.join(missing)}" if missing
                     else f"security contact is {contact.name} <{contact.email}>")


@check("account.alternate-contacts-complete", needs=(ALTERNATE_CONTACTS,))
def alternate_contacts_complete(inv: Inventory) -> Iterator[Finding]:
    """Billing, operations and security notices should each reach a distinct, maintained address."""
    section = inv.contacts
    if section.alternate_contacts is None:
        return
    contacts = {t: section.contact(t) for t in CONTACT_TYPES}
    missing = [t for t, c in contacts.items() if c is None or not c.configured]
    emails: dict[str, list[str]] = {}
    for t, c in contacts.items():
        if c is not None and c.configured and c.email:
            emails.setdefault(c.email.strip().lower(), []).append(t)
    shared = {e: ts for e, ts in emails.items() if len(ts) > 1}
    ev: dict[str, Any] = {
        "contacts": {t: _shown(c) if c and c.configured else None for t, c in contacts.items()},
        "attestation": "whether each address is a distribution list cannot be read from AWS; attest it",
        "primary_contact": section.primary_contact.model_dump() if section.primary_contact
        else "not readable (account:GetContactInformation); it carries no e-mail address anyway"}
    problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
        [f"{' and '.join(ts)} share {e}" for e, ts in sorted(shared.items())]
    if problems:
        ev["shared_emails"] = shared
        yield Finding.failed(inv.account(), f"alternate contacts incomplete: {'; '.join(problems)}", evidence=ev)
    else:
        yield Finding.passed(inv.account(), "billing, operations and security contacts are set with distinct "
                             "addresses", evidence=ev)
