"""All identifiers on one page, in one call: what the crawl runs per page.

* :func:`find_identifiers` ``(text, hrefs=(), hidden_text="", hidden_hrefs=())
  -> Identifiers`` -- wallets, onion addresses, PGP public keys, e-mail
  addresses and other contacts (XMPP, Telegram, messengers) found in the
  page's visible text and link targets, then in its hidden ones (hits there
  have ``hidden=True``).
* :class:`Identifiers` -- the result, with :meth:`Identifiers.page_fields`
  giving the values for :class:`crawler.items.Page`'s identifier fields,
  :meth:`Identifiers.shown` the hits a reader of the page sees, and
  :meth:`Identifiers.hidden_only` the values found only where the browser
  shows nothing.

Each finder is exact (see its module): wallets and v3 onions only when their
checksum validates, PGP keys parsed from their packets, contacts only in
unambiguous forms.  Never raises on arbitrary text; the cost is a handful of
linear regex passes plus a decode per candidate, twice when the page hides
text.

Hidden text is where scraper traps live (a decoy wallet in a
``display:none`` block): a hidden identifier is still recorded on the page,
marked, but the item builders attribute only :meth:`Identifiers.shown`
ones to a listing or vendor.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, TypeVar

from crawler.extractors.contacts import ContactHit, EmailHit, find_contacts, find_emails
from crawler.extractors.onions import OnionHit, find_onions
from crawler.extractors.pgp import PgpKeyBlock, find_pgp_keys
from crawler.extractors.wallets import WalletHit, find_wallets

#: entries kept per page in each of onion_mentions, discovery_onions and hidden_identifiers
#: (pipelines.validate caps identifier lists at the same number).
MAX_PAGE_ENTRIES = 500

_Hit = TypeVar("_Hit")


@dataclass(frozen=True)
class Identifiers:
    """Everything identifying found on one page: shown hits first, then hidden ones."""

    wallets: list[WalletHit] = field(default_factory=list)
    onions: list[OnionHit] = field(default_factory=list)
    pgp_keys: list[PgpKeyBlock] = field(default_factory=list)
    emails: list[EmailHit] = field(default_factory=list)
    contacts: list[ContactHit] = field(default_factory=list)

    def shown(self) -> Identifiers:
        """The hits a reader of the page sees (``hidden`` false): the only ones attributed to items."""
        return Identifiers(
            wallets=[hit for hit in self.wallets if not hit.hidden],
            onions=[hit for hit in self.onions if not hit.hidden],
            pgp_keys=[key for key in self.pgp_keys if not key.hidden],
            emails=[hit for hit in self.emails if not hit.hidden],
            contacts=[hit for hit in self.contacts if not hit.hidden],
        )

    def hidden_only(self) -> list[str]:
        """Values found only in hidden elements, in order: wallet addresses (normalised),
        onion hosts, PGP fingerprints, e-mail addresses and contact values."""
        shown = set(_values(self.shown()))
        return [value for value in dict.fromkeys(_values(self)) if value not in shown]

    def page_fields(self, own_host: str = "") -> dict[str, Any]:
        """Values for the identifier fields of :class:`crawler.items.Page`.

        ``wallets``, ``emails``, ``pgp_fingerprints`` and ``contacts`` hold
        everything on the page, hidden or not (a wallet or contact entry says
        ``hidden``); wallets are deduplicated on (coin, normalized form),
        contacts on (kind, value), keeping the first occurrence, so a value
        also shown counts as shown; unreadable PGP blocks contribute nothing.
        ``onion_mentions`` has one entry per (host, version, where, obfuscated,
        hidden) for every onion other than ``own_host``; ``discovery_onions``
        the distinct v3 hosts of shown mentions (v2 services no longer exist,
        and a hidden link is the classic trap that tells a crawler from a
        reader); ``hidden_identifiers`` is :meth:`hidden_only` without ``own_host``.
        """
        wallets: dict[tuple[str, str], dict[str, Any]] = {}
        for hit in self.wallets:
            wallets.setdefault((hit.coin, hit.normalized), hit.to_dict())
        contacts: dict[tuple[str, str], dict[str, Any]] = {}
        for contact in self.contacts:
            contacts.setdefault(
                (contact.kind, contact.value),
                {"kind": contact.kind, "value": contact.value, "source": contact.source,
                 "obfuscated": contact.obfuscated, "hidden": contact.hidden},
            )
        mentions: dict[tuple[Any, ...], dict[str, Any]] = {}
        discovery: dict[str, None] = {}
        own_host = own_host.lower()
        for hit in self.onions:
            if hit.host == own_host:
                continue
            where = "link" if hit.source == "href" else "text"
            key = (hit.host, hit.version, where, hit.obfuscated, hit.hidden)
            if key not in mentions and len(mentions) < MAX_PAGE_ENTRIES:
                mentions[key] = {"host": hit.host, "version": hit.version, "where": where,
                                 "obfuscated": hit.obfuscated, "hidden": hit.hidden}
            if hit.valid and not hit.hidden and len(discovery) < MAX_PAGE_ENTRIES:
                discovery.setdefault(hit.host)
        return {
            "wallets": list(wallets.values()),
            "emails": list(dict.fromkeys(hit.address for hit in self.emails)),
            "pgp_fingerprints": list(
                dict.fromkeys(key.fingerprint for key in self.pgp_keys if key.fingerprint)
            ),
            "contacts": list(contacts.values()),
            "onion_mentions": list(mentions.values()),
            "discovery_onions": list(discovery),
            "hidden_identifiers": [value for value in self.hidden_only() if value != own_host][:MAX_PAGE_ENTRIES],
        }


def _values(identifiers: Identifiers) -> list[str]:
    return [
        *(hit.normalized for hit in identifiers.wallets),
        *(hit.host for hit in identifiers.onions),
        *(key.fingerprint for key in identifiers.pgp_keys if key.fingerprint),
        *(hit.address for hit in identifiers.emails),
        *(hit.value for hit in identifiers.contacts),
    ]


def _hidden(hits: Iterable[_Hit]) -> list[_Hit]:
    return [dataclasses.replace(hit, hidden=True) for hit in hits]  # type: ignore[type-var]


def find_identifiers(
    text: str, hrefs: Iterable[str] = (), hidden_text: str = "", hidden_hrefs: Iterable[str] = ()
) -> Identifiers:
    """Run every identifier finder over ``text`` and ``hrefs`` (PGP keys: text only), then over
    ``hidden_text`` and ``hidden_hrefs``, whose hits come after, marked ``hidden``."""
    hrefs = list(hrefs)
    hidden_hrefs = list(hidden_hrefs)
    identifiers = Identifiers(
        wallets=find_wallets(text, hrefs),
        onions=find_onions(text, hrefs),
        pgp_keys=find_pgp_keys(text),
        emails=find_emails(text, hrefs),
        contacts=find_contacts(text, hrefs),
    )
    if not hidden_text and not hidden_hrefs:
        return identifiers
    return Identifiers(
        wallets=identifiers.wallets + _hidden(find_wallets(hidden_text, hidden_hrefs)),
        onions=identifiers.onions + _hidden(find_onions(hidden_text, hidden_hrefs)),
        pgp_keys=identifiers.pgp_keys + _hidden(find_pgp_keys(hidden_text)),
        emails=identifiers.emails + _hidden(find_emails(hidden_text, hidden_hrefs)),
        contacts=identifiers.contacts + _hidden(find_contacts(hidden_text, hidden_hrefs)),
    )
