"""Listing detail pages without a profile: the one listing a page is about.

Public API:

* :func:`read_listing_detail` ``(selector, tree, url, cards, chunks) -> GenericExtraction | None``.
"""

from __future__ import annotations

from typing import Any

from parsel import Selector

from crawler.extractors.generic_listing import GenericExtraction, extract_generic
from crawler.extractors.page_tree import PageTree
from crawler.extractors.record_mining import Card


def read_listing_detail(selector: Selector, tree: PageTree, url: str, cards: list[Card],
                        chunks: list[tuple[int, str]]) -> GenericExtraction | None:
    return extract_generic(selector, url)
