"""Profile-free extraction on hand-written pages in the shapes real markets use (issue 10).

Each page is a minimal fixture written for one general rule (a vendor's name in the page
title and a "send a message to" heading, WooCommerce product pages, table rows of listings,
XenForo 1 threads...); expected values are written by hand.  The real saved pages are
scored by ``bench.extraction_real``.
"""

from __future__ import annotations

from parsel import Selector

from crawler.extractors.generic_page import read_generic_page
from crawler.extractors.prices import Price

HOST = "d" * 56 + ".onion"
KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nxjMEY2Ic6xYJKwYBBAHaRw8BAQdA\n-----END PGP PUBLIC KEY BLOCK-----"


def read(html: str, path: str = "/page"):  # type: ignore[no-untyped-def]
    return read_generic_page(Selector(text=html), f"http://{HOST}{path}")


def _products(count: int) -> str:
    rows = "".join(f"<tr><td><a href='/p/item{n}'>Item number {n}</a></td><td>0.{n}0000000 BTC</td></tr>"
                   for n in range(1, count + 1))
    return f"<table>{rows}</table>"


def test_vendor_name_from_page_title_and_message_heading_not_from_running_text() -> None:
    """The profile owner is named in <title>, in bold beside a deal count and in "Send a message to X";
    "is a <strong>Vendor</strong> account." is a sentence, not a "Vendor" label."""
    html = ("<html><head><title>mrgreen</title></head><body><div>Welcome buyer7</div>"
            "<i class='icon'></i> <strong>mrgreen</strong> <span class='ratings'> [12 deals]</span>"
            f"<div>We ship fast, feedback welcome.<br/><span>{KEY}</span></div>"
            + _products(3)
            + "<h2>Send a message to mrgreen</h2><form><textarea name='m'></textarea></form>"
            "<span>'mrgreen' is a <strong>Vendor</strong> account.</span></body></html>")
    page = read(html, "/vendor/mrgreen")
    assert page.page_type == "vendor"
    assert page.vendor["name"] == "mrgreen"
    assert page.vendor.get("sales") == 12
    assert "rating" not in page.vendor  # "[12 deals]" is a count, not a rating
    assert [card["vendor"] for card in page.cards] == ["mrgreen"] * 3
