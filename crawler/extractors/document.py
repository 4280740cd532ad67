"""The whole extraction for one page: page basics, identifiers, listings, vendors, wallets.

Public API:

* :func:`extract_document` ``(html, url, fetched_at, job_id, profiles=None,
  market=None) -> ExtractedDocument`` -- what the spider calls per response and
  what ``onionscope extract`` calls on a saved page.
* :func:`decode_html` ``(html, content_type) -> str`` -- a page's text, decoded
  as the extraction decodes it (what ``onionscope profile suggest`` reads).
* :func:`plain_document` ``(html, url, fetched_at, job_id) -> ExtractedDocument``
  -- the page basics only, for a page whose extraction ran over its time
  budget (:mod:`crawler.extractors.budget`).
* :class:`ExtractedDocument` -- the :class:`crawler.items.Page`, the
  :class:`~crawler.items.Listing`, :class:`~crawler.items.Vendor` and
  :class:`~crawler.items.WalletMention` items, the page's market, page type,
  language and ``looks_like_market`` (see below), the page's site type with its confidence and
  evidence (:mod:`crawler.extractors.site_type`), and the problems a crawl
  must report:

  - ``drift`` -- :class:`DriftEvent` per expected profile field that matched
    nothing on a page of the profile's own market (stats key
    ``extract/drift/<market>/<field>``);
  - ``rejected`` -- :class:`RejectedItem` per listing or vendor dropped because
    it had no title / name (stats key ``extract/empty/<market>/<kind>``).

  :meth:`ExtractedDocument.items` lists what to index;
  :meth:`ExtractedDocument.stats` the counters to add to the crawl stats;
  :meth:`ExtractedDocument.log_problems` logs one WARNING per drift event and
  rejected item, naming market, field and URL.

Which extractor runs, and under which market the items go:

1. the profile named by ``market`` (``--market``: the operator says what the
   page is), items under that market;
2. the profile the page's onion host belongs to
   (:meth:`MarketProfiles.for_host`: listed, host pattern or confirmed), items
   under that market;
3. the profile whose site marker the page carries
   (:meth:`MarketProfiles.looks_like`), on a host that is none of its
   market's: its rules extract the fields, but the market is the page's own
   host, ``looks_like_market`` names the profile on the page, listings and
   vendors, no drift is counted (the page is not the market's), and the
   stats count ``extract/looks_like/<market>``.  Anyone can copy a market's
   markup, so a copy can never reach the real market's documents;
   with rules 1-3, a page rule's ``cards`` give one listing per card
   (``extractor="card"``), keyed like the detail page it links to
   (:meth:`MarketProfile.listing_id_for`, else the generic id rule);
4. else the generic reading (:func:`crawler.extractors.generic_page.read_generic_page`):
   listing cards of result pages (``extractor="card"``, keyed by their detail
   URL), a detail page's listing (labels, JSON-LD, microdata), a vendor
   profile, or a forum thread's posts (``ExtractedDocument.posts`` and
   ``Page.posts``); items under the page's own host.

A page with an HTTP status of 400 or more yields its Page item only.

Identifiers in elements the browser does not show (scraper traps; see
:mod:`crawler.extractors.html_page`) are recorded on the page, marked
``hidden`` (and listed in ``Page.hidden_identifiers``), but never attributed:
a listing's and a vendor's wallets, PGP fingerprints and contacts are shown
ones only, and the wallet mention of a hidden-only wallet names no listing
or vendor.  Every onion mentioned on the page is in ``Page.onion_mentions``,
and the shown v3 ones in ``Page.discovery_onions`` for discovery.

Raises :class:`config.errors.UserError` only for a ``market`` that no
profile has (or ``market`` without ``profiles``).  Never raises on hostile or
malformed HTML.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Union

from parsel import Selector
from w3lib.encoding import html_to_unicode

from crawler.extractors.contacts import find_contacts, find_emails
from crawler.extractors.forum_thread import ForumPost
from crawler.extractors.generic_page import listing_id_for_url, read_generic_page
from crawler.extractors.html_page import HtmlPage, parse_html_page
from crawler.extractors.identifiers import Identifiers, find_identifiers
from crawler.extractors.language import LanguageGuess, detect_language
from crawler.extractors.login_wall import detect_login_wall
from crawler.extractors.market_profiles import MarketProfile, MarketProfiles
from crawler.extractors.nesting import KEEP_DEPTH, flatten_deep_nesting
from crawler.extractors.pgp import find_pgp_keys
from crawler.extractors.prices import Price
from crawler.extractors.site_type import classify_page, signals_of_page
from crawler.extractors.substances import SubstanceLexicon, default_lexicon
from crawler.extractors.wallets import WalletHit, find_wallets
from crawler.items import Listing, Page, Vendor, WalletMention
from crawler.urls import canonical_url, onion_host
from config.errors import UserError
from config.i18n import _


LOG = logging.getLogger(__name__)

DEFAULT_MAX_TEXT_CHARS = 200_000
MAX_HTML_BYTES = 10 * 1024 * 1024
MAX_DESCRIPTION_CHARS = 20_000
MAX_TITLE_CHARS = 1_000
MAX_NAME_CHARS = 200

Item = Union[Page, Listing, Vendor, WalletMention]
_LATIN1_NAMES = frozenset({"cp1252", "windows1252", "latin1", "iso88591", "l1"})


@dataclass(frozen=True)
class DriftEvent:
    """A profile field that matched nothing on a page of the profile's own market."""

    market: str
    field: str
    url: str
    page_type: str

    @property
    def stat_key(self) -> str:
        return f"extract/drift/{self.market}/{self.field}"

    def message(self) -> str:
        return (
            f"profile drift: market {self.market!r} field {self.field!r} matched nothing "
            f"on {self.page_type} page {self.url}"
        )


@dataclass(frozen=True)
class RejectedItem:
    """A listing or vendor that was not emitted, and why."""

    kind: str  # "listing" or "vendor"
    market: str
    url: str
    reason: str

    @property
    def stat_key(self) -> str:
        return f"extract/empty/{self.market}/{self.kind}"

    def message(self) -> str:
        return f"empty {self.kind} not indexed: market {self.market!r} {self.reason} on {self.url}"


@dataclass
class ExtractedDocument:
    page: Page
    listings: list[Listing] = field(default_factory=list)
    vendors: list[Vendor] = field(default_factory=list)
    wallet_mentions: list[WalletMention] = field(default_factory=list)
    identifiers: Identifiers = field(default_factory=Identifiers)
    market: str | None = None
    page_type: str | None = None
    extractor: str | None = None  # "profile", "generic" or None (a plain page)
    language: LanguageGuess = field(default_factory=lambda: LanguageGuess(None, 0.0))
    drift: list[DriftEvent] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)
    # The profile whose site marker the page carries, its host being none of that market's.
    looks_like_market: str | None = None
    # The page nested deeper than libxml2 reads; tags past KEEP_DEPTH were dropped, text kept.
    flattened_nesting: bool = False
    # Links with a scheme other than http(s) (javascript:, data:, file:, mailto:...), never followed.
    other_scheme_links: int = 0
    posts: list[ForumPost] = field(default_factory=list)  # a forum thread's posts (page type "thread")

    def items(self) -> list[Item]:
        """Listings, vendors and wallet mentions, then the page: what the pipelines index.

        The page comes last: ``onionscope crawl --resume`` counts a page as done
        once its page document is indexed (:mod:`pipelines.job_resume`), so
        everything the page yields must be in the same bulk batch or an
        earlier one.
        """
        return [*self.listings, *self.vendors, *self.wallet_mentions, self.page]

    def stats(self) -> dict[str, int]:
        """Counters to add to the crawl stats (``extract/...`` keys)."""
        counts: dict[str, int] = {}

        def bump(key: str) -> None:
            counts[key] = counts.get(key, 0) + 1

        bump(f"extract/pages/{self.extractor or 'plain'}")
        if self.looks_like_market:
            bump(f"extract/looks_like/{self.looks_like_market}")
        for listing in self.listings:
            bump(f"extract/listings/{listing.market}")
        for vendor in self.vendors:
            bump(f"extract/vendors/{vendor.market}")
        if self.wallet_mentions:
            counts["extract/wallet_mentions"] = len(self.wallet_mentions)
        for event in self.drift:
            bump(event.stat_key)
        for rejected in self.rejected:
            bump(rejected.stat_key)
        if self.flattened_nesting:
            bump("extract/deep_nesting_flattened")
        if self.other_scheme_links:
            counts["extract/links_not_followed/scheme"] = self.other_scheme_links
        return counts

    def log_problems(self, logger: logging.Logger = LOG) -> None:
        """One WARNING per drift event, per rejected item and for a page whose nesting was flattened."""
        for event in self.drift:
            logger.warning(event.message())
        for rejected in self.rejected:
            logger.warning(rejected.message())
        if self.flattened_nesting:
            logger.warning("%s nests its elements deeper than the HTML parser reads; elements past depth %d "
                           "were flattened so all of its text is read", self.page.url, KEEP_DEPTH)


def _decode(html: bytes | str, content_type: str) -> tuple[str, bytes]:
    """Text and bytes of a page; bytes are decoded by BOM, then <meta charset>, then
    UTF-8 (Russian-language markets still serve windows-1251)."""
    if isinstance(html, str):
        return html, html.encode("utf-8", errors="replace")
    raw = bytes(html[:MAX_HTML_BYTES])
    try:
        encoding, text = html_to_unicode(content_type or None, raw)
    except (LookupError, ValueError):  # an unknown or broken declared encoding
        return raw.decode("utf-8", errors="replace"), raw
    # Pages saved or served as UTF-8 under a stale Latin-1 declaration ("฿" read as "à¸¿"):
    # bytes that decode strictly as UTF-8 are UTF-8 (a real cp1252 text almost never does).
    if encoding.replace("-", "").replace("_", "").lower() in _LATIN1_NAMES and max(raw, default=0) >= 0x80:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return text, raw


def decode_html(html: bytes | str, content_type: str = "text/html") -> str:
    """The page's text: by BOM, then ``<meta charset>``, then UTF-8 (see ``_decode``); never raises."""
    return _decode(html, content_type)[0]


def extract_document(
    html: bytes | str,
    url: str,
    fetched_at: str,
    job_id: str,
    profiles: MarketProfiles | None = None,
    market: str | None = None,
    *,
    status: int = 200,
    content_type: str = "text/html",
    depth: int = 0,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    lexicon: SubstanceLexicon | None = None,
    countries: Mapping[str, str] | None = None,
) -> ExtractedDocument:
    """Run the full extraction on one page (see the module docstring).

    ``lexicon`` and ``countries`` are the substance lexicon and country table of
    the crawl's ``config_dir`` (:func:`~crawler.extractors.substances.default_lexicon`,
    :func:`~crawler.extractors.countries.load_country_table`); default: the config package's.
    """
    forced_profile: MarketProfile | None = None
    if market is not None:
        if profiles is None:
            raise UserError(_("market {market} was asked for but no market profiles are loaded", market=repr(market)))
        forced_profile = profiles.get(market)

    text_html, raw = _decode(html, content_type)
    text_html, flattened = flatten_deep_nesting(text_html)
    selector = Selector(text=text_html or "<html></html>", base_url=url)
    basics = parse_html_page(text_html, url, max_text_chars=max_text_chars, selector=selector)
    host = onion_host(url) or ""
    language = detect_language(basics.text)
    identifiers = find_identifiers(basics.text, basics.hrefs, basics.hidden_text, basics.hidden_hrefs)
    page_fields = identifiers.page_fields(own_host=host)

    page = _page(url, fetched_at, job_id, status, content_type, depth, raw, basics, language.code)
    page.wallets = page_fields.get("wallets", [])
    page.emails = page_fields.get("emails", [])
    page.pgp_fingerprints = page_fields.get("pgp_fingerprints", [])
    page.contacts = page_fields.get("contacts", [])
    page.onion_mentions = page_fields.get("onion_mentions", [])
    page.discovery_onions = page_fields.get("discovery_onions", [])
    page.hidden_identifiers = page_fields.get("hidden_identifiers", [])
    document = ExtractedDocument(page=page, identifiers=identifiers, language=language,
                                 flattened_nesting=flattened, other_scheme_links=basics.other_scheme_links)

    if status >= 400:
        # An error page at a listing URL is not a listing that lost its fields: no items, no drift.
        page.market = forced_profile.name if forced_profile is not None else None
        _classify_site(document, raw, status, None, selector.root)
        return document
    profile = forced_profile or (profiles.for_host(host) if profiles is not None else None)
    market_name = profile.name if profile is not None else host or "unknown"
    looks_like: MarketProfile | None = None
    if profile is None and profiles is not None:
        looks_like = profiles.looks_like(selector)
    builder = _ItemBuilder(
        url=url, host=host, fetched_at=fetched_at, job_id=job_id, language=language.code,
        identifiers=identifiers.shown(), hidden_only=frozenset(identifiers.hidden_only()),
        all_wallets=identifiers.wallets, lexicon=lexicon or default_lexicon(),
        # The market is bound to this host or is the host itself; see crawler.items' id rule.
        market_host_known=profile is not None or bool(host),
        looks_like_market=looks_like.name if looks_like is not None else None,
    )
    rules = profile or looks_like
    if rules is not None:
        extraction = rules.extract(selector, url, countries=countries)
        document.market, document.page_type, document.extractor = market_name, extraction.page_type, "profile"
        document.looks_like_market = builder.looks_like_market
        if profile is not None and extraction.page_type is not None:
            # Drift is a profile that stopped matching its own market, not a copy that differs.
            document.drift = [
                DriftEvent(profile.name, name, url, extraction.page_type) for name in extraction.missing
            ]
        if extraction.page_type == "listing":
            builder.add_listing(document, market_name, extraction.values, "profile")
        elif extraction.page_type == "vendor":
            builder.add_vendor(document, market_name, extraction.values, "profile")
        # A vendor's own page lists its items without naming the vendor on each card.
        page_vendor = extraction.values.get("name") if extraction.page_type == "vendor" else None
        for card in _profile_cards(rules, extraction.cards, url, extraction.page_type == "listing"):
            if page_vendor and not card.get("vendor"):
                card["vendor"] = page_vendor
            builder.add_listing(document, market_name, card, "card")
    else:
        generic = read_generic_page(selector, url, countries=countries)
        document.page_type = generic.page_type
        if generic.page_type is not None:
            document.market, document.extractor = market_name, "generic"
        if generic.listing is not None:
            builder.add_listing(document, market_name, generic.listing, "generic")
        for card in generic.cards:
            # Keyed like the detail page it links to, which is indexed under its own host.
            builder.add_listing(document, card.get("market_host") or market_name, card, "card")
        if generic.vendor is not None:
            builder.add_vendor(document, market_name, generic.vendor, "generic")
        document.posts = generic.posts
        page.posts = [post.to_doc() for post in generic.posts]
    page.market, page.page_type = document.market, document.page_type
    page.looks_like_market = document.looks_like_market
    builder.add_wallet_mentions(document)
    _classify_site(document, raw, status, rules.name if rules is not None else None, selector.root)
    return document


def _classify_site(document: ExtractedDocument, raw: bytes, status: int, market_profile: str | None,
                   root: Any = None) -> None:
    """Sets the page's site type, confidence and evidence (:mod:`crawler.extractors.site_type`)."""
    page = document.page
    guess = classify_page(signals_of_page(
        url=page.url, status=status, title=page.title, text=page.text, links=page.links,
        onion_mentions=page.onion_mentions, login_wall=detect_login_wall(raw, status),
        page_type=document.page_type, listing_vendors=[listing.vendor for listing in document.listings],
        vendor_profile=bool(document.vendors), post_count=len(document.posts), market_profile=market_profile,
        root=root))
    page.site_type, page.site_type_confidence = guess.site_type, guess.confidence
    page.site_type_evidence = list(guess.evidence)


def plain_document(
    html: bytes | str,
    url: str,
    fetched_at: str,
    job_id: str,
    *,
    status: int = 200,
    content_type: str = "text/html",
    depth: int = 0,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    read_html: bool = True,
) -> ExtractedDocument:
    """The page basics only: title, text, links and language; no identifiers, market or items.

    What a crawl indexes for a page whose full extraction ran over its time
    budget (:mod:`crawler.extractors.budget`).  With ``read_html=False`` the
    HTML is not parsed at all (only hashed): for a page whose basics ran over
    the budget too, so that the crawl still records that the URL answered.
    Never raises on hostile or malformed HTML.
    """
    flattened = False
    if read_html:
        text_html, raw = _decode(html, content_type)
        text_html, flattened = flatten_deep_nesting(text_html)
        basics = parse_html_page(text_html, url, max_text_chars=max_text_chars)
        language = detect_language(basics.text)
    else:
        raw = html.encode("utf-8", errors="replace") if isinstance(html, str) else bytes(html[:MAX_HTML_BYTES])
        basics, language = HtmlPage(title="", text=""), LanguageGuess(None, 0.0)
    page = _page(url, fetched_at, job_id, status, content_type, depth, raw, basics, language.code)
    document = ExtractedDocument(page=page, language=language, flattened_nesting=flattened,
                                 other_scheme_links=basics.other_scheme_links)
    if read_html:
        # The rules over what was read (no login-wall parse: the budget is spent).
        guess = classify_page(signals_of_page(
            url=url, status=status, title=page.title, text=page.text, links=page.links, onion_mentions=(),
            login_wall=None, page_type=None, listing_vendors=(), vendor_profile=False, post_count=0,
            market_profile=None))
        page.site_type, page.site_type_confidence = guess.site_type, guess.confidence
        page.site_type_evidence = list(guess.evidence)
    return document


def _page(
    url: str, fetched_at: str, job_id: str, status: int, content_type: str, depth: int,
    raw: bytes, basics: HtmlPage, language: str | None,
) -> Page:
    return Page(
        url=url,
        canonical_url=canonical_url(url),
        onion_host=onion_host(url) or "",
        status=status,
        content_type=content_type,
        content_hash=hashlib.sha256(raw).hexdigest(),
        fetched_at=fetched_at,
        job_id=job_id,
        title=basics.title,
        text=basics.text,
        links=list(basics.links),
        onion_links=list(basics.onion_links),
        depth=depth,
        language=language,
    )


@dataclass
class _ItemBuilder:
    """Builds the listing, vendor and wallet-mention items of one page.

    ``identifiers`` are the page's shown ones: only they are attributed to a
    listing or vendor.  A value in ``hidden_only`` (found only where the
    browser shows nothing: a scraper trap) is dropped from whatever a
    profile's or the generic extractor's field selected, too.
    """

    url: str
    host: str
    fetched_at: str
    job_id: str
    language: str | None
    identifiers: Identifiers
    hidden_only: frozenset[str]
    all_wallets: list[WalletHit]
    lexicon: SubstanceLexicon
    market_host_known: bool
    looks_like_market: str | None

    def _page_wallets(self) -> list[str]:
        return list(dict.fromkeys(hit.normalized for hit in self.identifiers.wallets))

    def add_listing(self, document: ExtractedDocument, market: str, values: dict[str, Any], extractor: str) -> None:
        title = (_text_value(values.get("title")) or "")[:MAX_TITLE_CHARS]
        if not title:
            document.rejected.append(RejectedItem("listing", market, self.url, "no title"))
            return
        # A card's listing lives at its detail URL, not at the result page that shows it.
        listing_url = _text_value(values.get("url")) or self.url
        listing_id = _text_value(values.get("listing_id")) or listing_id_for_url(listing_url)
        price = values.get("price")
        crypto_prices: dict[str, float] = {}
        # crypto_prices are the crypto equivalents shown beside the price, not the price itself.
        for extra in values.get("crypto_prices") or []:
            if isinstance(extra, Price) and extra.is_crypto and not (isinstance(price, Price) and extra == price):
                crypto_prices.setdefault(extra.currency, extra.amount)
        price_amount = price.amount if isinstance(price, Price) else None
        price_currency = price.currency if isinstance(price, Price) else None
        if isinstance(values.get("currency"), str):
            price_currency = values["currency"]
        description = (_text_value(values.get("description")) or "")[:MAX_DESCRIPTION_CHARS]
        category = _text_value(values.get("category"))
        substances, classes = self.lexicon.tag(title, category, description)
        # A listing's language is its own text's, not the page's: an English listing on a
        # market with Russian menus is English.
        listing_language = detect_language(f"{title}\n{description}").code or self.language
        document.listings.append(
            Listing(
                market=market,
                listing_id=listing_id,
                url=listing_url,
                title=title,
                fetched_at=self.fetched_at,
                job_id=self.job_id,
                onion_host=self.host,
                description=description,
                price_amount=price_amount,
                price_currency=price_currency,
                crypto_prices=crypto_prices,
                vendor=(_text_value(values.get("vendor")) or "")[:MAX_NAME_CHARS] or None,
                category=category[:MAX_NAME_CHARS] if category else None,
                ships_from=_list_value(values.get("ships_from")),
                ships_to=_list_value(values.get("ships_to")),
                escrow=values.get("escrow") if isinstance(values.get("escrow"), bool) else None,
                finalize_early=values.get("finalize_early") if isinstance(values.get("finalize_early"), bool) else None,
                stock=values.get("stock") if isinstance(values.get("stock"), int) else None,
                sales=values.get("sales") if isinstance(values.get("sales"), int) else None,
                rating=float(values["rating"]) if isinstance(values.get("rating"), (int, float)) else None,
                substances=substances,
                substance_classes=classes,
                # A result page's wallets belong to the page, not to each card on it.
                wallets=self._page_wallets() if extractor != "card" else [],
                language=listing_language,
                price_unit=_text_value(values.get("price_unit")),
                extractor=extractor,
                market_host_known=self.market_host_known,
                looks_like_market=self.looks_like_market,
            )
        )

    def add_vendor(self, document: ExtractedDocument, market: str, values: dict[str, Any], extractor: str) -> None:
        name = (_text_value(values.get("name")) or "")[:MAX_NAME_CHARS]
        if not name:
            document.rejected.append(RejectedItem("vendor", market, self.url, "no name"))
            return
        fingerprints: list[str] = []
        pgp_text = values.get("pgp")
        if isinstance(pgp_text, str):
            fingerprints = [
                key.fingerprint for key in find_pgp_keys(pgp_text)
                if key.fingerprint and key.fingerprint not in self.hidden_only
            ]
        if not fingerprints:
            fingerprints = [key.fingerprint for key in self.identifiers.pgp_keys if key.fingerprint]
        wallets = self._field_wallets(values.get("wallets")) or self._page_wallets()
        contacts = self._field_contacts(values.get("contacts"))
        if not contacts:
            # The page's shown contacts, each once (an address written twice is one contact).
            emails: dict[str, dict[str, Any]] = {}
            for hit in self.identifiers.emails:
                emails.setdefault(
                    hit.address,
                    {"kind": "email", "value": hit.address, "source": hit.source, "obfuscated": hit.obfuscated},
                )
            contacts = self.identifiers.page_fields()["contacts"] + list(emails.values())
        document.vendors.append(
            Vendor(
                market=market,
                name=name,
                fetched_at=self.fetched_at,
                job_id=self.job_id,
                profile_url=self.url,
                onion_host=self.host,
                pgp_fingerprints=list(dict.fromkeys(fingerprints)),
                wallets=wallets,
                contacts=contacts,
                rating=float(values["rating"]) if isinstance(values.get("rating"), (int, float)) else None,
                sales=values.get("sales") if isinstance(values.get("sales"), int) else None,
                joined=_text_value(values.get("joined")),
                extractor=extractor,
                market_host_known=self.market_host_known,
                looks_like_market=self.looks_like_market,
            )
        )

    def _field_wallets(self, raw: Any) -> list[str]:
        """Only checksum-valid addresses from a profile's wallets field."""
        texts = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
        if not texts:
            return []
        found = find_wallets("\n".join(map(str, texts)))
        return list(dict.fromkeys(hit.normalized for hit in found if hit.normalized not in self.hidden_only))

    def _field_contacts(self, raw: Any) -> list[dict[str, Any]]:
        texts = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
        if not texts:
            return []
        joined = "\n".join(map(str, texts))
        contacts = [{"kind": hit.kind, "value": hit.value, "source": "profile"} for hit in find_contacts(joined)]
        contacts += [{"kind": "email", "value": hit.address, "source": "profile"} for hit in find_emails(joined)]
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for contact in contacts:
            if contact["value"] not in self.hidden_only:
                unique.setdefault((contact["kind"], contact["value"]), contact)
        return list(unique.values())

    def add_wallet_mentions(self, document: ExtractedDocument) -> None:
        """One mention per wallet on the page; a hidden-only one names no listing or vendor."""
        # Only the listing the page is about owns the page's wallets, never a card on a result page.
        listing = next((item for item in document.listings if item.url == self.url and item.extractor != "card"), None)
        vendor_name = listing.vendor if listing else (document.vendors[0].name if document.vendors else None)
        seen: set[tuple[str, str]] = set()
        for hit in self.all_wallets:  # shown ones first
            key = (hit.coin, hit.normalized)
            if key in seen:
                continue
            seen.add(key)
            hidden = hit.normalized in self.hidden_only
            document.wallet_mentions.append(
                WalletMention(
                    address=hit.normalized,
                    coin=hit.coin,
                    network=hit.network,
                    address_type=hit.address_type,
                    page_url=self.url,
                    onion_host=self.host,
                    fetched_at=self.fetched_at,
                    job_id=self.job_id,
                    market=document.market,
                    listing_id=listing.listing_id if listing and not hidden else None,
                    vendor=None if hidden else vendor_name,
                    source=hit.source,
                    market_host_known=self.market_host_known,
                    hidden=hidden,
                )
            )


def _profile_cards(rules: MarketProfile, cards: list[dict[str, Any]], url: str, on_listing_page: bool) -> list[dict[str, Any]]:
    """A profile's cards keyed like their detail pages, one per listing id (the first card keeps its
    values and takes what only later ones show); on a listing page, not the page's own listing."""
    merged: dict[str, dict[str, Any]] = {}
    page_url = canonical_url(url)
    for card in cards:
        card_url = _text_value(card.get("url"))
        if card_url is None or (on_listing_page and canonical_url(card_url) == page_url):
            continue
        values = dict(card)
        values["url"] = card_url
        values["listing_id"] = (_text_value(card.get("listing_id")) or rules.listing_id_for(card_url)
                                or listing_id_for_url(card_url))
        if values["listing_id"] in merged:
            for name, value in values.items():
                merged[values["listing_id"]].setdefault(name, value)
        else:
            merged[values["listing_id"]] = values
    return list(merged.values())


def _text_value(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _list_value(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]
