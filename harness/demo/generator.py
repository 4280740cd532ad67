"""The demo world generator: seeded darknet-market-like sites plus their ground truth.

The demo sites are both the demo and the test fixtures.  Given a seed and the
onion host of each site (known only once the private Tor network runs), the
generator writes every page and media file under ``out_dir/sites/<site>/`` and
the ground truth to ``out_dir/ground_truth.json``.  The same seed and hosts give
byte-identical output.

Public API:

* :data:`SITE_NAMES` -- ``("old-bazaar", "nebula-market", "tundra-shop", "hush-forum")``:
  a table-based market, a card/JSON-LD market, a definition-list market with
  Cyrillic labels, and a forum;
* :func:`generate_world` ``(seed, onion_hosts, out_dir, data_dir=None) -> dict`` --
  writes the sites and returns the ground truth (raises :class:`UserError` for a
  bad host mapping or demo data, OSError if ``out_dir`` cannot be written);
  ``data_dir`` is a ``<config_dir>/demo`` folder (default: the config package's);
* :func:`seed_urls` ``(onion_hosts) -> list[str]`` -- the home page of each site;
* :func:`placeholder_onion_hosts` ``(seed) -> dict[str, str]`` -- valid-format v3
  hosts for unit tests and offline use;
* :func:`site_directory` ``(out_dir, site) -> Path`` -- where a site's files live;
* :func:`generator_version` ``(data_dir=None) -> str`` -- hash of the generator's code and data
  (also in the ground truth): callers that reuse generated sites compare it.

Files: a URL path maps to a file by :func:`harness.demo.paths.file_for_target`
(``/a/`` -> ``a/index.html``; a query string becomes part of the file name:
``/listing.php?id=7`` -> ``listing.php?id=7``).

Ground truth schema (``ground_truth.json``; lists sorted, URLs canonical
``http://<host>.onion/path`` as :func:`crawler.urls.canonical_url` makes them)::

  schema_version: 1, seed: int,
  generator_version: str   # hash of this package's code and <config_dir>/demo/ data: regenerate when it changes
  sites: {name: {onion_host, kind: market|forum, structure: str, home_url,
                 pages: [url...],            # every page reachable from home_url (same host, no media)
                 page_types: {url: home|category|listing|listing-reviews|vendor|vendor-reviews|
                                   vendor-directory|info|board|thread|user|members},
                 page_depths: {url: int},    # fewest link hops from home_url
                 max_depth: int,
                 media_urls: [url...],       # images/archives the pages reference; never to be fetched
                 shows: [field...]}}         # optional listing fields this market displays
  listings: [{market, listing_id, url, title, description, price_amount, price_currency,
              crypto_prices: {BTC|XMR: float}, vendor, vendor_url, category,
              ships_from: [alpha2], ships_to: [alpha2 | "WW" worldwide | "EU"],
              escrow, finalize_early, stock, sales, rating,   # null where the market does not show it
              substances: [name], substance_classes: [class], substance_terms: [term as written],
              wallets: [address], language: en|ru,
              quantity: float, unit: g|tab|blotter...}]   # what the price buys, as the title says
  vendors: [{market, name, profile_url, pgp_fingerprints, wallets: [address],
             contacts: [{type: email|jabber|telegram, value}], rating, sales, joined}]
  wallets: [{address (normalised), coin, network, address_type, written_as: [exact spellings],
             checksummed (EVM only), owner, pages: [url...]}]
  decoy_addresses: [{text, looks_like, address_type, pages}]   # bad checksums: never report
  pgp_keys: [{fingerprint, key_id, user_ids, created, algorithm, packets, pages}]
  malformed_pgp_blocks: [{pages, note}]
  emails: [{address, kind: email|jabber, pages}]
  telegram_handles: [{handle, pages}]
  onion_links: [{page, onion_host, source: href|text, live: bool}]  # hosts other than the page's own
  legacy_onion_mentions: [{host, pages}]                          # v2 (16-char) addresses in text
  cross_market_vendors: [{name, pgp_fingerprint, shared_wallets, appearances: [{site, name, profile_url}]}]
  html_traps: [{url, text}]                                       # injection strings shown as text

Raises RuntimeError if the generated world is not closed (a link to a page that
was not rendered, an unreachable page): a generator bug, never bad input.

Notes: PGP keys are Ed25519 (legacy EdDSA, algorithm 22) v4 keys with a valid
self-certification; gpg imports them.  Wallets are generated with
the demo's own :mod:`harness.demo.wallet_encoders` from seeded bytes (nobody
holds their keys); onion hosts and armor checksums are the demo's own too
(:mod:`harness.demo.hosts`, :mod:`harness.demo.openpgp`), never the crawler's
extractors that the ground truth is there to check.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import os
import re
import shutil
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from harness.demo import paths
from harness.demo.hosts import derived_onion_host, is_v3_onion_host
from harness.demo.markets import RENDERERS
from harness.demo.markets.markup import RenderedSite
from harness.demo.media import media_bytes
from harness.demo.site_names import FORUM_NAME, MARKET_NAMES, SITE_NAMES
from harness.demo.world import HTML_TRAP_TITLES, MARKET_SPECS, Wallet, World, build_world, load_demo_data
from config.paths import demo_data_dir
from config.errors import UserError
from config.i18n import gettext

__all__ = [
    "SITE_NAMES", "generate_world", "placeholder_onion_hosts", "seed_urls", "site_directory",
    "GROUND_TRUTH_FILE", "generator_version",
]

GROUND_TRUTH_FILE = "ground_truth.json"
SCHEMA_VERSION = 1

_STRUCTURES = {
    "old-bazaar": "table layout, label/value rows, PHP query URLs, USD with BTC equivalent, country names",
    "nebula-market": "card grid, schema.org JSON-LD and microdata, EUR with decimal comma, ISO alpha-2 codes",
    "tundra-shop": "definition lists with bilingual labels, Cyrillic, XMR/BTC prices, ISO alpha-3 codes, relative links",
    "hush-forum": "boards and paginated threads, bare onion addresses, signatures with wallets",
}
_HREF = re.compile(r'href="([^"]*)"')
_TAG = re.compile(r"<[^>]+>")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ONION_V3 = re.compile(r"\b[a-z2-7]{56}\.onion\b")
_ONION_V2 = re.compile(r"(?<![a-z2-7])[a-z2-7]{16}\.onion\b")
_TELEGRAM = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def generator_version(data_dir: Path | None = None) -> str:
    """A short hash of the generator's code and data; equal versions and inputs give equal output."""
    package = Path(__file__).resolve().parent
    data_dir = data_dir if data_dir is not None else demo_data_dir()
    digest = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *Path(data_dir).glob("*.yml")]):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def placeholder_onion_hosts(seed: int) -> dict[str, str]:
    """Valid-format v3 onion hosts for every site (no Tor needed)."""
    return {site: derived_onion_host(seed, f"site-{site}") for site in SITE_NAMES}


def seed_urls(onion_hosts: dict[str, str]) -> list[str]:
    """The home page URL of each site, in :data:`SITE_NAMES` order."""
    hosts = _checked_hosts(onion_hosts)
    return [paths.absolute_url(hosts[site], "/") for site in SITE_NAMES]


def site_directory(out_dir: Path, site: str) -> Path:
    return Path(out_dir) / "sites" / site


def _checked_hosts(onion_hosts: dict[str, str]) -> dict[str, str]:
    if set(onion_hosts) != set(SITE_NAMES):
        raise UserError(gettext(
            "the demo generator needs an onion host for exactly these sites: {sites} (got {got}); check the testnet "
            "manifest's onion_services", sites=", ".join(SITE_NAMES),
            got=", ".join(sorted(onion_hosts)) or gettext("none")))
    hosts: dict[str, str] = {}
    for site, host in onion_hosts.items():
        normalised = host.strip().lower()
        if not normalised.endswith(".onion"):
            normalised += ".onion"
        if not is_v3_onion_host(normalised):
            raise UserError(gettext("onion host for demo site {site} is not a valid v3 address: {host}", site=repr(site),
                                    host=repr(host)))
        hosts[site] = normalised
    if len(set(hosts.values())) != len(hosts):
        raise UserError(gettext("each demo site needs its own onion host; two sites were given the same one"))
    return hosts


def generate_world(seed: int, onion_hosts: dict[str, str], out_dir: Path, data_dir: Path | None = None
                   ) -> dict[str, Any]:
    """Write every demo site and ``ground_truth.json`` under ``out_dir``; return the ground truth.

    Replaces ``out_dir/sites`` as a whole (a server reading it sees either the
    old or the new tree, apart from one rename).  The world is drawn from the
    data in ``data_dir`` (a ``<config_dir>/demo`` folder; default: the config package's).
    """
    hosts = _checked_hosts(onion_hosts)
    world = build_world(seed, hosts, load_demo_data(data_dir))
    rendered = {site: RENDERERS[site](world) for site in SITE_NAMES}
    truth = _ground_truth(world, rendered, generator_version(data_dir))
    _write(Path(out_dir), world, rendered, truth)
    return truth


# --------------------------------------------------------------------------- writing


def _write(out_dir: Path, world: World, rendered: dict[str, RenderedSite], truth: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".sites-new-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    for site, content in rendered.items():
        root = staging / site
        for path, markup in content.pages.items():
            _write_file(root, path, markup.encode("utf-8"))
        for media_path in sorted(content.media):
            _write_file(root, media_path, media_bytes(media_path))
    final = out_dir / "sites"
    retired = out_dir / f".sites-old-{os.getpid()}"
    if final.exists():
        final.rename(retired)
    staging.rename(final)
    if retired.exists():
        shutil.rmtree(retired)
    text = json.dumps(truth, ensure_ascii=False, sort_keys=True, indent=1) + "\n"
    temporary = out_dir / f".{GROUND_TRUTH_FILE}.{os.getpid()}"
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(out_dir / GROUND_TRUTH_FILE)


def _write_file(root: Path, target: str, data: bytes) -> None:
    parts = urlsplit(target)
    relative = paths.file_for_target(parts.path, parts.query)
    if relative is None:
        raise ValueError(f"demo renderer produced an unservable path {target!r}")
    destination = root / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(data)


# --------------------------------------------------------------------------- ground truth


def _visible_text(markup: str) -> str:
    body = markup.split("<body>", 1)[-1]
    return html.unescape(_TAG.sub(" ", body))


def _link_graph(world: World, rendered: dict[str, RenderedSite]) -> dict[str, dict[str, int]]:
    """Depth of every page from its site's home, following same-host links.

    Also checks the world is closed: every link to a demo host must name a
    rendered page or a media file (a broken link is a generator bug).
    """
    url_sets = {
        site: {paths.absolute_url(world.onion_hosts[site], path) for path in content.pages}
        for site, content in rendered.items()
    }
    media_sets = {
        site: {paths.absolute_url(world.onion_hosts[site], path) for path in content.media}
        for site, content in rendered.items()
    }
    site_of_host = {host: site for site, host in world.onion_hosts.items()}
    outgoing: dict[str, list[str]] = {}
    for site, content in rendered.items():
        for path, markup in content.pages.items():
            page_url = paths.absolute_url(world.onion_hosts[site], path)
            targets = []
            for raw in _HREF.findall(markup):
                href = html.unescape(raw)
                if href.startswith(("bitcoin:", "monero:", "mailto:")):
                    continue
                target = urljoin(page_url, href).split("#", 1)[0]
                host = urlsplit(target).hostname or ""
                if host not in site_of_host:
                    continue
                target_site = site_of_host[host]
                if target in media_sets[target_site]:
                    continue
                if target not in url_sets[target_site]:
                    raise RuntimeError(f"generator bug: demo page {page_url} links to missing {target}")
                if target_site == site:
                    targets.append(target)
            outgoing[page_url] = targets
    depths: dict[str, dict[str, int]] = {}
    for site in rendered:
        home = paths.absolute_url(world.onion_hosts[site], "/")
        seen = {home: 0}
        queue = deque([home])
        while queue:
            current = queue.popleft()
            for target in outgoing[current]:
                if target not in seen:
                    seen[target] = seen[current] + 1
                    queue.append(target)
        unreachable = url_sets[site] - set(seen)
        if unreachable:
            raise RuntimeError(f"generator bug: pages not reachable from the home page: {sorted(unreachable)[:5]}")
        depths[site] = seen
    return depths


def _pages_containing(page_texts: dict[str, str], needles: list[str]) -> list[str]:
    return sorted(url for url, text in page_texts.items() if any(needle in text for needle in needles))


def _wallet_entries(world: World, raw_pages: dict[str, str]) -> list[dict[str, Any]]:
    wallets: dict[str, Wallet] = {}

    def collect(candidates: list[Wallet]) -> None:
        for wallet in candidates:
            wallets.setdefault(wallet.address, wallet)

    for market in world.markets.values():
        collect(market.market_wallets)
        for vendor in market.vendors:
            collect(vendor.wallets)
        for listing in market.listings:
            collect(listing.wallets)
    for user in world.forum.users:
        collect(user.wallets)
    entries = []
    for address, wallet in sorted(wallets.items()):
        pages = _pages_containing(raw_pages, wallet.written_as)
        if not pages:
            raise RuntimeError(f"generator bug: wallet {address} is on no page")
        entry: dict[str, Any] = {
            "address": address,
            "coin": wallet.coin,
            "network": wallet.network,
            "address_type": wallet.address_type,
            "written_as": list(wallet.written_as),
            "owner": wallet.owner if not wallet.owner.startswith("vendor:*:") else f"vendor:{wallet.owner[9:]}",
            "pages": pages,
        }
        if wallet.coin == "ethereum":
            entry["checksummed"] = bool(wallet.checksummed)
        entries.append(entry)
    return entries


def _ground_truth(world: World, rendered: dict[str, RenderedSite], version: str) -> dict[str, Any]:
    depths = _link_graph(world, rendered)
    raw_pages: dict[str, str] = {}
    texts: dict[str, str] = {}
    for site, content in rendered.items():
        for path, markup in content.pages.items():
            url = paths.absolute_url(world.onion_hosts[site], path)
            raw_pages[url] = html.unescape(markup)
            texts[url] = _visible_text(markup)

    sites: dict[str, Any] = {}
    for site, content in rendered.items():
        host = world.onion_hosts[site]
        page_types = {paths.absolute_url(host, path): kind for path, kind in content.page_types.items()}
        sites[site] = {
            "onion_host": host,
            "kind": "forum" if site == FORUM_NAME else "market",
            "structure": _STRUCTURES[site],
            "home_url": paths.absolute_url(host, "/"),
            "pages": sorted(page_types),
            "page_types": page_types,
            "page_depths": depths[site],
            "max_depth": max(depths[site].values()),
            "media_urls": sorted(paths.absolute_url(host, path) for path in content.media),
            "shows": sorted(MARKET_SPECS[site].shows) if site in MARKET_SPECS else [],
        }

    listings = []
    vendors = []
    for site in MARKET_NAMES:
        market = world.markets[site]
        for listing in market.listings:
            listings.append({
                "market": site,
                "listing_id": listing.listing_id,
                "url": listing.url,
                "title": listing.title,
                "description": listing.description,
                "price_amount": listing.price_amount,
                "price_currency": listing.price_currency,
                "crypto_prices": dict(listing.crypto_prices),
                "vendor": listing.vendor.name,
                "vendor_url": listing.vendor.profile_url,
                "category": listing.category,
                "ships_from": list(listing.ships_from),
                "ships_to": list(listing.ships_to),
                "escrow": listing.escrow,
                "finalize_early": listing.finalize_early,
                "stock": listing.stock,
                "sales": listing.sales,
                "rating": listing.rating,
                "substances": list(listing.substances),
                "substance_classes": list(listing.substance_classes),
                "substance_terms": list(listing.substance_terms),
                "wallets": [wallet.address for wallet in listing.wallets],
                "language": "ru" if _CYRILLIC.search(listing.title) else "en",
                "quantity": listing.quantity,
                "unit": listing.unit,
            })
        for vendor in market.vendors:
            vendors.append({
                "market": site,
                "name": vendor.name,
                "profile_url": vendor.profile_url,
                "pgp_fingerprints": [vendor.pgp.fingerprint],
                "wallets": [wallet.address for wallet in vendor.wallets],
                "contacts": [dict(contact) for contact in vendor.contacts],
                "rating": vendor.rating,
                "sales": vendor.sales,
                "joined": vendor.joined,
            })

    keys = {}
    for market in world.markets.values():
        for vendor in market.vendors:
            keys[vendor.pgp.fingerprint] = vendor.pgp
    for user in world.forum.users:
        if user.pgp:
            keys[user.pgp.fingerprint] = user.pgp
    pgp_keys = []
    for fingerprint, key in sorted(keys.items()):
        first_body_line = key.armored.split("\n")[2]
        pgp_keys.append({
            "fingerprint": fingerprint,
            "key_id": key.key_id,
            "user_ids": [key.user_id],
            "created": _iso_time(key.created),
            "algorithm": key.algorithm,
            "packets": "public key, user id, positive self-certification (SHA-256, verifies)",
            "pages": _pages_containing(raw_pages, [first_body_line]),
        })
    malformed_line = world.malformed_pgp_block.split("\n")[2]

    jabber_ids = {
        contact["value"]
        for market in world.markets.values() for vendor in market.vendors for contact in vendor.contacts
        if contact["type"] == "jabber"
    } | {contact["value"] for user in world.forum.users for contact in user.contacts if contact["type"] == "jabber"}
    email_pages: dict[str, set[str]] = {}
    telegram_pages: dict[str, set[str]] = {}
    onion_links: set[tuple[str, str, str]] = set()
    legacy: dict[str, set[str]] = {}
    for url, text in texts.items():
        for address in _EMAIL.findall(text):
            email_pages.setdefault(address, set()).add(url)
        for handle in _TELEGRAM.findall(text):
            telegram_pages.setdefault(handle, set()).add(url)
        own_host = urlsplit(url).hostname
        for host in _ONION_V3.findall(text):
            if host != own_host:
                onion_links.add((url, host, "text"))
        for host in _ONION_V2.findall(text):
            legacy.setdefault(host, set()).add(url)
    for url, markup in raw_pages.items():
        own_host = urlsplit(url).hostname
        for href in _HREF.findall(markup):
            host = (urlsplit(urljoin(url, href)).hostname or "")
            if host.endswith(".onion") and host != own_host:
                onion_links.add((url, host, "href"))
    live_hosts = set(world.onion_hosts.values())

    profile_urls = {(vendor["market"], vendor["name"]): vendor["profile_url"] for vendor in vendors}
    forum_host = world.onion_hosts[FORUM_NAME]
    cross_market = []
    for link in world.cross_market:
        appearances = []
        for appearance in link["appearances"]:
            url = profile_urls.get((appearance["site"], appearance["name"])) or paths.absolute_url(
                forum_host, paths.user_path(appearance["name"])
            )
            appearances.append({**appearance, "profile_url": url})
        cross_market.append({**link, "appearances": appearances})

    traps = []
    for site, title in sorted(HTML_TRAP_TITLES.items()):
        listing = next(item for item in world.markets[site].listings if item.title == title)
        traps.append({"url": listing.url, "text": title})

    return {
        "schema_version": SCHEMA_VERSION,
        "seed": world.seed,
        "generator_version": version,
        "sites": sites,
        "listings": sorted(listings, key=lambda item: (item["market"], item["listing_id"])),
        "vendors": sorted(vendors, key=lambda item: (item["market"], item["name"].casefold())),
        "wallets": _wallet_entries(world, raw_pages),
        "decoy_addresses": [
            {
                "text": decoy.text,
                "looks_like": decoy.looks_like,
                "address_type": decoy.address_type,
                "pages": _pages_containing(raw_pages, [decoy.text]),
            }
            for decoy in sorted(world.decoys, key=lambda item: item.text)
        ],
        "pgp_keys": pgp_keys,
        "malformed_pgp_blocks": [{
            "pages": _pages_containing(raw_pages, [malformed_line]),
            "note": "armored public key block whose body was altered: its CRC24 line does not match",
        }],
        "emails": [
            {"address": address, "kind": "jabber" if address in jabber_ids else "email", "pages": sorted(pages)}
            for address, pages in sorted(email_pages.items())
        ],
        "telegram_handles": [
            {"handle": handle, "pages": sorted(pages)} for handle, pages in sorted(telegram_pages.items())
        ],
        "onion_links": [
            {"page": page, "onion_host": host, "source": source, "live": host in live_hosts}
            for page, host, source in sorted(onion_links)
        ],
        "legacy_onion_mentions": [{"host": host, "pages": sorted(pages)} for host, pages in sorted(legacy.items())],
        "cross_market_vendors": cross_market,
        "html_traps": traps,
    }


def _iso_time(unix_time: int) -> str:
    return datetime.datetime.fromtimestamp(unix_time, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
