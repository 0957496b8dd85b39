"""Account Management: the billing, operations and security alternate contacts, and the primary contact."""
from __future__ import annotations

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Frozen

ALTERNATE_CONTACTS = "account.alternate_contacts"
CONTACT_INFORMATION = "account.contact_information"  # enrichment only: no check needs it
CONTACT_TYPES = ("BILLING", "OPERATIONS", "SECURITY")


class AlternateContact(Frozen):
    type: str
    configured: bool  # False: ResourceNotFoundException, no contact of this type
    name: str = ""
    title: str = ""
    email: str = ""
    phone: str = ""


class PrimaryContact(Frozen):
    # The Account API's primary contact carries no e-mail address (that is the root user's address).
    full_name: str = ""
    company_name: str = ""
    country_code: str = ""
    phone_set: bool = False


class AccountSection(Section):
    # None: not read (see gaps). Otherwise one entry per type in CONTACT_TYPES, configured or not.
    alternate_contacts: list[AlternateContact] | None = None
    primary_contact: PrimaryContact | None = None

    def contact(self, contact_type: str) -> AlternateContact | None:
        return next((c for c in self.alternate_contacts or [] if c.type == contact_type), None)


# Named "contacts": `inv.account` is already the Inventory method that gives the account itself.
@collector("contacts", service="account", section=AccountSection, regional=False, datasets={
    ALTERNATE_CONTACTS: ("account:GetAlternateContact",),
    CONTACT_INFORMATION: ("account:GetContactInformation",),
})
def collect_account(ctx: CollectContext) -> AccountSection:
    client = ctx.client()

    def alternate(contact_type: str) -> AlternateContact | None:
        resp = ctx.call(ALTERNATE_CONTACTS, client, "get_alternate_contact", AlternateContactType=contact_type,
                        absent=("ResourceNotFoundException",))
        if resp is None:
            return None
        if resp is NOT_FOUND:
            return AlternateContact(type=contact_type, configured=False)
        c = resp.get("AlternateContact") or {}
        return AlternateContact(type=contact_type, configured=True, name=c.get("Name", ""), title=c.get("Title", ""),
                                email=c.get("EmailAddress", ""), phone=c.get("PhoneNumber", ""))

    contacts = ctx.map(alternate, CONTACT_TYPES)
    info = ctx.call(CONTACT_INFORMATION, client, "get_contact_information")
    primary = None
    if info:
        ci = info.get("ContactInformation") or {}
        primary = PrimaryContact(full_name=ci.get("FullName", ""), company_name=ci.get("CompanyName", ""),
                                 country_code=ci.get("CountryCode", ""), phone_set=bool(ci.get("PhoneNumber")))
    return AccountSection(alternate_contacts=None if any(c is None for c in contacts) else contacts,
                          primary_contact=primary)
