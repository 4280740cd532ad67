"""Market profiles: per-market extraction rules loaded from ``config/markets/*.yml``.

A profile says how to recognise a market's pages and where each field of a
listing or vendor sits on them.  Adding a market is a new YAML file only.

The package, along its seams (callers import the names below from the package):

* :mod:`~crawler.extractors.market_profiles.normalisers` -- field value normalisers;
* :mod:`~crawler.extractors.market_profiles.model` -- a profile, its page rules,
  field selectors and site markers, applied to a page;
* :mod:`~crawler.extractors.market_profiles.loader` -- YAML -> a validated
  profile, errors with file and line;
* :mod:`~crawler.extractors.market_profiles.registry` -- the loaded profiles
  and which onion hosts belong to which market.

Public API:

* :meth:`MarketProfiles.load` (a folder of ``*.yml``) and
  :meth:`MarketProfiles.from_files` -> :class:`MarketProfiles`; every file is
  validated on load and the first problem raises :class:`ProfileError` (a
  :class:`config.errors.UserError`) naming the file, the line and the key:
  ``config/markets/agora.yml:14: pages.listing.fields.price: unknown
  normaliser 'prcie' (did you mean 'price'?)``.
* :meth:`MarketProfiles.for_host` -> the :class:`MarketProfile` an onion host
  belongs to, or None; :meth:`MarketProfiles.looks_like` -> the profile whose
  site marker a page carries, or None (a resemblance, never a binding);
  :meth:`MarketProfiles.bind_hosts` adds the hosts an operator confirmed;
  :meth:`MarketProfiles.get` looks a profile up by name.
* :meth:`MarketProfile.page_type` -> ``"listing"``, ``"vendor"``,
  ``"category"``, ``"search"`` or None; :meth:`MarketProfile.extract` ->
  :class:`ProfileExtraction` (normalised field values, the listing cards and
  the fields that matched nothing); :meth:`MarketProfile.listing_id_for` ->
  the id the listing rule's URL pattern gives a detail URL.
* :data:`NORMALISERS` -- the value normalisers a field may name.

Which hosts belong to a market (:meth:`MarketProfiles.for_host`), and nothing else:

1. hosts the operator confirmed with :meth:`MarketProfiles.bind_hosts` (the
   ``market_hosts`` setting or ``--market-host MARKET=HOST``; the demo confirms
   the onion host tor gave each demo market this run);
2. the profile's ``match.hosts``;
3. the profile's ``match.host_patterns`` (regexes).

``match.site_markers`` (a CSS or XPath selector, optionally with
``contains``/``equals``/``regex`` on its text or ``attr``) never bind a host:
anyone can copy a market's markup.  :meth:`MarketProfiles.looks_like` names
the market whose marker a page on an unknown host carries, so a market that
moved to a new onion, or a phishing copy of one, is recorded as "looks like
market X" and indexed under its own host until the operator confirms it.

Profile YAML (every key is checked; unknown keys are errors)::

    name: bazaar                      # [a-z0-9_-]+
    description: free text            # optional
    currency: USD                     # optional: currency of bare prices
    match: {hosts: [...], host_patterns: [...], site_markers: [{css: ..., contains: ...}]}
    pages:
      listing:
        url_pattern: '^/item/(?P<listing_id>\\d+)'   # regex on path?query; str or list
        marker: {css: 'div.item-page'}             # optional: page type from the HTML
        fields:
          title: {css: 'h1'}
          price: {css: '.price', normalise: price}
          ships_to: {xpath: '//dt[.="Ships to"]/following-sibling::dd[1]', normalise: countries}
          sales: {css: '.sales', normalise: [strip, {regex: '(\\d+) sold'}, int], optional: true}
      category:
        url_pattern: '^/c/'
        cards:                                     # any page type may have listing cards
          css: 'div.card'                          # one element per card
          fields:                                  # read inside each card (XPath: './/...')
            title: {css: 'h3'}
            price: {css: '.price'}
            url: {css: 'a', attr: href}            # the detail page: one listing with it

A field is ``{css: ...}`` or ``{xpath: ...}`` with optional ``attr`` (read an
attribute instead of the text), ``all`` (keep every match as a list),
``normalise`` (a name or a list applied in order: the names in
:data:`NORMALISERS`, ``{regex: 'pattern', group: 1}`` to keep one group, or
``{matches: 'pattern'}`` for True/False; default per field below)
and ``optional`` (missing on a page is normal, so it is not drift).

A listing's id is the ``(?P<listing_id>...)`` group of its ``url_pattern`` or
its ``listing_id`` field (one of them is required when the rule has a
``url_pattern``); a listing rule told by its ``marker`` alone takes the
generic id rule on the page's URL (an id parameter or the last path segment
with a digit, else a hash of the URL).

``cards`` (on any page type) makes a page yield one listing per card: ``css``
or ``xpath`` selects the cards, and each of ``fields`` (a listing's fields
plus ``url``, the detail page; ``title`` and ``url`` are required) is read
inside its card.  A card's listing id is the one its detail page gets: the
listing rule's ``(?P<listing_id>...)`` group on the card's URL, else the
generic rule (:func:`crawler.extractors.generic_page.listing_id_for_url`),
so a card and its detail page are one document.  ``onionscope profile
suggest`` writes such a profile from saved pages
(:mod:`crawler.extractors.profile_suggestion`).
"""

from __future__ import annotations

from crawler.extractors.market_profiles.loader import load_profile
from crawler.extractors.market_profiles.model import (
    CARD_FIELDS,
    LIST_FIELDS,
    LISTING_FIELDS,
    MAX_FIELD_CHARS,
    PAGE_FIELDS,
    PAGE_TYPES,
    VENDOR_FIELDS,
    CardRule,
    FieldSelector,
    MarketProfile,
    PageRule,
    ProfileError,
    ProfileExtraction,
    SiteMarker,
    compile_selector,
    element_text,
)
from crawler.extractors.market_profiles.normalisers import (
    NORMALISERS,
    MatchesNormaliser,
    NormaliseContext,
    Normaliser,
    RegexNormaliser,
    apply_normalisers,
    strip_value,
)
from crawler.extractors.market_profiles.registry import MarketProfiles

__all__ = [
    "CARD_FIELDS",
    "LIST_FIELDS",
    "LISTING_FIELDS",
    "MAX_FIELD_CHARS",
    "NORMALISERS",
    "PAGE_FIELDS",
    "PAGE_TYPES",
    "VENDOR_FIELDS",
    "CardRule",
    "FieldSelector",
    "MarketProfile",
    "MarketProfiles",
    "MatchesNormaliser",
    "NormaliseContext",
    "Normaliser",
    "PageRule",
    "ProfileError",
    "ProfileExtraction",
    "RegexNormaliser",
    "SiteMarker",
    "apply_normalisers",
    "compile_selector",
    "element_text",
    "load_profile",
    "strip_value",
]
