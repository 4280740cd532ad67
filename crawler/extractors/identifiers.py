"""All identifiers on one page, in one call: what the crawl runs per page.

* :func:`find_identifiers` ``(text, hrefs=()) -> Identifiers`` -- wallets,
  onion addresses, PGP public keys, e-mail addresses and other contacts
  (XMPP, Telegram) found in the page's visible text and link targets.
* :class:`Identifiers` -- the result, with :meth:`Identifiers.page_fields`
  giving the values for :class:`crawler.items.Page`'s identifier fields.

Each finder is exact (see its module): wallets and v3 onions only when their
checksum validates, PGP keys parsed from their packets, contacts only in
unambiguous forms.  Never raises on arbitrary text; the cost is a handful of
linear regex passes plus a decode per candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from crawler.extractors.contacts import ContactHit, EmailHit, find_contacts, find_emails
from crawler.extractors.onions import OnionHit, find_onions
from crawler.extractors.pgp import PgpKeyBlock, find_pgp_keys
from crawler.extractors.wallets import WalletHit, find_wallets


@dataclass(frozen=True)
class Identifiers:
    """Everything identifying found on one page."""

    wallets: list[WalletHit] = field(default_factory=list)
    onions: list[OnionHit] = field(default_factory=list)
    pgp_keys: list[PgpKeyBlock] = field(default_factory=list)
    emails: list[EmailHit] = field(default_factory=list)
    contacts: list[ContactHit] = field(default_factory=list)

    def page_fields(self) -> dict[str, Any]:
        """Values for ``Page.wallets``, ``emails``, ``pgp_fingerprints`` and ``contacts``.

        Wallets are deduplicated on (coin, normalized form) keeping the first
        occurrence; e-mails and fingerprints are distinct values in order of
        appearance; unreadable PGP blocks contribute nothing here.
        """
        wallets: dict[tuple[str, str], dict[str, Any]] = {}
        for hit in self.wallets:
            wallets.setdefault((hit.coin, hit.normalized), hit.to_dict())
        contacts: dict[tuple[str, str], dict[str, Any]] = {}
        for contact in self.contacts:
            contacts.setdefault(
                (contact.kind, contact.value),
                {"kind": contact.kind, "value": contact.value, "source": contact.source},
            )
        return {
            "wallets": list(wallets.values()),
            "emails": list(dict.fromkeys(hit.address for hit in self.emails)),
            "pgp_fingerprints": list(
                dict.fromkeys(key.fingerprint for key in self.pgp_keys if key.fingerprint)
            ),
            "contacts": list(contacts.values()),
        }


def find_identifiers(text: str, hrefs: Iterable[str] = ()) -> Identifiers:
    """Run every identifier finder over ``text`` and ``hrefs`` (PGP keys: text only)."""
    hrefs = list(hrefs)
    return Identifiers(
        wallets=find_wallets(text, hrefs),
        onions=find_onions(text, hrefs),
        pgp_keys=find_pgp_keys(text),
        emails=find_emails(text, hrefs),
        contacts=find_contacts(text, hrefs),
    )
