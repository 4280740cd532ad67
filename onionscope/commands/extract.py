"""``onionscope extract PAGE.html``: the full extraction on a page saved to disk.

Prints what the crawl would index for that page -- the page's identifiers
(with every onion it names, ``onion_mentions``, and what it hides from a
reader, ``hidden_identifiers``), listings, vendors and wallet mentions, its
market, page type and language --
readably by default, or as one JSON object with ``--json``.  Profile drift and
empty items are reported on stderr as warnings.

The page is hostile: everything printed -- text, JSON and warnings -- goes
through the project's one terminal escaper, :func:`search.cli_output.escape_terminal`
(:func:`search.cli_output.escape_json_text` for ``--json``), so no control,
C1 or bidi character from the page reaches the terminal raw.

``configure(parser)`` adds the arguments; ``run(args, settings) -> int``
returns 0, or raises :class:`config.errors.UserError` (a missing or
unreadable file, a bad ``--url``, an unknown ``--market``, an invalid market
profile), which the command prints as one line with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from config import paths
from config.errors import UserError
from search.cli_output import escape_json_text, escape_terminal
from config.i18n import _
from config.os_reasons import os_reason

MAX_PAGE_BYTES = 10 * 1024 * 1024
OFFLINE_JOB_ID = "offline-extract"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("page", metavar="PAGE.html", help=_("a saved HTML page"))
    parser.add_argument(
        "--url",
        help=_("the URL the page was saved from (decides the market and page type; default: the file's path)"),
    )
    parser.add_argument("--market", help=_("use this market profile (by name) instead of detecting it"))
    parser.add_argument(
        "--market-host", action="append", default=[], metavar="MARKET=HOST",
        help=_("confirm that onion HOST is market MARKET's, as for a crawl (repeatable; adds to market_hosts)"),
    )
    parser.add_argument(
        "--profiles",
        metavar="DIR",
        help=_("folder of market profiles (default: <config_dir>/markets)"),
    )
    parser.add_argument("--json", action="store_true", help=_("print one JSON object instead of text"))


def _read_page(path_text: str) -> bytes:
    path = Path(path_text)
    if not path.exists():
        raise UserError(_("{path}: no such file; give the path of a saved HTML page", path=path))
    if not path.is_file():
        raise UserError(_("{path}: not a file; give the path of a saved HTML page", path=path))
    size = path.stat().st_size
    if size > MAX_PAGE_BYTES:
        raise UserError(_("{path}: {size} MB is larger than the {limit} MB a page may be", path=path,
                          size=f"{size / 1_048_576:.1f}", limit=MAX_PAGE_BYTES // 1_048_576))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(_("{path}: cannot read it ({error})", path=path, error=os_reason(exc))) from None


def _page_url(args: argparse.Namespace) -> str:
    if args.url is None:
        return Path(args.page).resolve().as_uri()
    try:
        parts = urlsplit(args.url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(_("--url {url}: expected an http:// URL such as http://<56 characters>.onion/listing/1",
                          url=repr(args.url)))
    return args.url


def run(args: argparse.Namespace, settings: Any) -> int:
    from crawler.extractors.countries import load_country_table
    from crawler.extractors.document import extract_document
    from crawler.extractors.market_profiles import MarketProfiles
    from crawler.extractors.substances import default_lexicon

    html = _read_page(args.page)
    url = _page_url(args)
    profile_dir = Path(args.profiles) if args.profiles else paths.markets_dir(settings.config_dir)
    if profile_dir.is_dir():
        profiles = MarketProfiles.load(profile_dir)
    elif args.profiles or args.market:
        raise UserError(_("{path}: market profile folder not found; pass --profiles DIR", path=profile_dir))
    else:
        profiles = MarketProfiles()
    if args.market_host:
        settings = settings.replace(market_hosts=[*settings.market_hosts, *args.market_host])
    profiles.bind_hosts(settings.market_hosts)
    fetched_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = extract_document(
        html, url, fetched_at, OFFLINE_JOB_ID, profiles=profiles, market=args.market,
        max_text_chars=int(getattr(settings, "page_text_max_chars", 200_000)),
        lexicon=default_lexicon(settings.config_dir),
        countries=load_country_table(paths.countries_file(settings.config_dir)),
    )
    for event in document.drift:
        print(_("warning: {message}", message=_safe(event.message())), file=sys.stderr)
    for rejected in document.rejected:
        print(_("warning: {message}", message=_safe(rejected.message())), file=sys.stderr)
    try:
        if args.json:
            sys.stdout.write(render_json(document))
        else:
            print_human(document, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # `onionscope extract page.html | head` closed the pipe: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
    return 0


def document_as_json(document: Any) -> dict[str, Any]:
    """The machine-readable form printed by ``--json``."""
    return {
        "market": document.market,
        "looks_like_market": document.looks_like_market,
        "page_type": document.page_type,
        "extractor": document.extractor,
        "language": {"code": document.language.code, "confidence": document.language.confidence},
        "page": document.page.to_doc(),
        "listings": [listing.to_doc() for listing in document.listings],
        "vendors": [vendor.to_doc() for vendor in document.vendors],
        "wallet_mentions": [mention.to_doc() for mention in document.wallet_mentions],
        "drift": [asdict(event) for event in document.drift],
        "rejected": [asdict(rejected) for rejected in document.rejected],
    }


def render_json(document: Any) -> str:
    """``--json``'s output: :func:`document_as_json` as indented JSON whose every character is safe on a terminal."""
    return escape_json_text(json.dumps(document_as_json(document), ensure_ascii=False, indent=2)) + "\n"


def _safe(value: Any, limit: int = 300) -> str:
    """``value`` as one line for the terminal: escaped by the project's one escaper, then capped."""
    text = escape_terminal(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(out: TextIO, label: str, value: Any) -> None:
    if value is None or value == [] or value == {} or value == "":
        return
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    elif isinstance(value, dict):
        value = ", ".join(f"{amount} {currency}" for currency, amount in value.items())
    out.write(f"  {label:<15} {_safe(value)}\n")


def _onion_mention(mention: dict[str, Any]) -> str:
    """``host (text, v2, obfuscated, hidden)``: where the page names it and how."""
    notes = [str(mention.get("where"))]
    if mention.get("version") == 2:
        notes.append("v2")
    notes += [flag for flag in ("obfuscated", "hidden") if mention.get(flag)]
    return f"{mention.get('host')} ({', '.join(notes)})"


def print_human(document: Any, out: TextIO) -> None:
    page = document.page
    out.write(_("page").ljust(10) + " " + f"{_safe(page.url)}\n")
    _line(out, _("title"), page.title)
    _line(out, _("market"), document.market)
    if document.looks_like_market:
        _line(out, _("looks like"), _("{market} (not one of its hosts; confirm with --market-host {market}={host} or "
                                      "--market)", market=document.looks_like_market, host=page.onion_host or "HOST"))
    _line(out, _("page type"), document.page_type)
    _line(out, _("extractor"), document.extractor)
    if document.language.code:
        _line(out, _("language"), f"{document.language.code} ({document.language.confidence:.2f})")
    _line(out, _("onion links"), len(page.onion_links) or None)
    _line(out, _("emails"), page.emails)
    _line(out, _("pgp"), page.pgp_fingerprints)
    _line(out, _("contacts"), [f"{c['kind']}:{c['value']}" for c in page.contacts])
    _line(out, _("onion mentions"), [_onion_mention(mention) for mention in page.onion_mentions])
    _line(out, _("hidden (traps)"), page.hidden_identifiers)
    for listing in document.listings:
        out.write(_("listing").ljust(10) + " " + f"{_safe(listing.listing_id)}\n")
        _line(out, _("title"), listing.title)
        if listing.price_amount is not None:
            _line(out, _("price"), f"{listing.price_amount:g} {listing.price_currency or ''}".strip())
        _line(out, _("crypto prices"), listing.crypto_prices)
        _line(out, _("vendor"), listing.vendor)
        _line(out, _("category"), listing.category)
        _line(out, _("ships from"), listing.ships_from)
        _line(out, _("ships to"), listing.ships_to)
        _line(out, _("escrow"), listing.escrow)
        _line(out, _("finalize early"), listing.finalize_early)
        _line(out, _("stock"), listing.stock)
        _line(out, _("sales"), listing.sales)
        _line(out, _("rating"), listing.rating)
        _line(out, _("substances"), listing.substances)
        _line(out, _("classes"), listing.substance_classes)
    for vendor in document.vendors:
        out.write(_("vendor").ljust(10) + " " + f"{_safe(vendor.name)}\n")
        _line(out, _("pgp"), vendor.pgp_fingerprints)
        _line(out, _("wallets"), vendor.wallets)
        _line(out, _("contacts"), [f"{c['kind']}:{c['value']}" for c in vendor.contacts])
        _line(out, _("rating"), vendor.rating)
        _line(out, _("sales"), vendor.sales)
        _line(out, _("joined"), vendor.joined)
    for mention in document.wallet_mentions:
        out.write(_("wallet").ljust(10) + " " + f"{_safe(mention.address)}  "
                  f"{_safe(f'{mention.coin} {mention.network} {mention.address_type}')}\n")
    if not (document.listings or document.vendors or document.wallet_mentions):
        out.write("  " + _("(no listing, vendor or wallet on this page)") + "\n")
