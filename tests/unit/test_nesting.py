"""Flattening HTML nested deeper than libxml2 reads, so the text after it is not lost."""

from __future__ import annotations

import time

import pytest
from parsel import Selector

from crawler.extractors.document import extract_document
from crawler.extractors.nesting import KEEP_DEPTH, flatten_deep_nesting

HOST = "n" * 56 + ".onion"
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def _deep(levels: int) -> str:
    return (f"<html><head><title>deep</title></head><body><p>before</p>{'<div>' * levels}hidden phrase"
            f"{'</div>' * levels}<p>after, pay {WALLET}</p></body></html>")


def _text(html: str) -> str:
    return " ".join(" ".join(Selector(text=html).xpath("//body//text()").getall()).split())


def test_libxml2_alone_loses_everything_past_2048_levels() -> None:
    """Why the flattening exists: the parser stops at its depth limit and drops the rest of the page."""
    assert _text(_deep(2100)) == "before"


@pytest.mark.parametrize("levels", [2100, 100_000])
def test_a_page_nested_past_the_parser_limit_is_read_whole(levels: int) -> None:
    flattened, changed = flatten_deep_nesting(_deep(levels))
    assert changed
    assert _text(flattened) == f"before hidden phrase after, pay {WALLET}"
    assert flattened.count("<div>") == KEEP_DEPTH - 2  # <html> and <body> are two of the kept levels


def test_the_extraction_finds_the_wallet_behind_the_nesting_and_says_so() -> None:
    document = extract_document(_deep(100_000), f"http://{HOST}/deep", "2026-01-01T00:00:00Z", "job")
    assert "hidden phrase" in document.page.text
    assert [wallet["address"] for wallet in document.page.wallets] == [WALLET]
    assert document.stats()["extract/deep_nesting_flattened"] == 1


@pytest.mark.parametrize("html", [
    "<html><body>" + "<p>unclosed paragraph " * 5000 + "</body></html>",
    "<html><body><ul>" + "<li>item<br>line<img src=x>" * 5000 + "</ul></body></html>",
    "<html><body>" + "<div><span>x</span></div>" * 5000 + "</body></html>",
    "<html><body>" + "<div>" * 1000 + "x" + "</div>" * 1000 + "</body></html>",
])
def test_ordinary_pages_are_left_exactly_as_they_are(html: str) -> None:
    assert flatten_deep_nesting(html) == (html, False)


@pytest.mark.parametrize("html", ["<a" * 500_000, "<div x" + "<" * 1_000_000, "<" + "a" * 1_000_000])
def test_the_scan_is_linear_on_tags_that_never_close(html: str) -> None:
    started = time.process_time()
    flatten_deep_nesting(html)
    assert time.process_time() - started < 1.0
