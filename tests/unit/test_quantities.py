"""crawler.extractors.quantities: the weight a listing's price buys."""

from __future__ import annotations

import pytest

from crawler.extractors.quantities import grams_sold
from pipelines.documents import document_for
from crawler.items import Listing


@pytest.mark.parametrize("title, unit, grams", [
    ("5g MDMA crystals", None, 5.0),
    ("Cocaine (coke) 3.5g | Netherlands stock", None, 3.5),
    ("Мефедрон 2г (кристаллы)", None, 2.0),
    ("КЕТАМИН 0,5г — качество", None, 0.5),
    ("LSD 100 mg powder", None, 0.1),
    ("1 kg bulk speed", None, 1000.0),
    ("Weed 1oz", None, 28.349523125),
    ("anything", "1LB", 453.59237),
    ("anything", "lb", 453.59237),
    ("10g in the title, but priced per", "2g", 2.0),
])
def test_weights(title, unit, grams):
    assert grams_sold(title, unit) == pytest.approx(grams)


@pytest.mark.parametrize("title, unit", [
    ("3-MMC crystals", None),            # a name, not a weight
    ("2C-B 20 tabs", None),
    ("LSD 10 blotters", None),
    ("5g or 10g MDMA", None),            # which one the price buys is a guess
    ("0g free sample", None),
    ("Xanax bars", "tab"),               # priced per something that is not a weight
    ("", None),
    (None, None),
    ("1.5.5g", None),
])
def test_no_weight(title, unit):
    assert grams_sold(title, unit) is None


def test_the_same_weight_twice_is_one_weight():
    assert grams_sold("5g MDMA, 5 g per bag") == 5.0


def test_listing_documents_carry_the_price_per_gram():
    listing = Listing(market="m", listing_id="1", url="http://x/1", title="2.5g Ketamine needles",
                      fetched_at="2026-01-01T00:00:00Z", job_id="j", price_amount=50.0, price_currency="EUR")
    document = document_for(listing)
    assert document["quantity_grams"] == 2.5 and document["price_per_gram"] == 20.0
    tabs = document_for(Listing(market="m", listing_id="2", url="http://x/2", title="LSD 10 tabs",
                                fetched_at="2026-01-01T00:00:00Z", job_id="j", price_amount=50.0))
    assert tabs["quantity_grams"] is None and tabs["price_per_gram"] is None
