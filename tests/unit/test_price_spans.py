"""Printed prices: signs and codes, both thousands conventions, ฿ and mBTC, per-unit prices, ranges."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings, strategies as st

from crawler.extractors.price_spans import MAX_TEXT_CHARS, find_price_spans, may_hold_price


@pytest.mark.parametrize(
    "text, amount, currency, unit, amount_max, printed",
    [
        ("58.05 USD", 58.05, "USD", None, None, "58.05 USD"),
        ("USD 75.00", 75.0, "USD", None, None, "USD 75.00"),
        ("$20.00 USD", 20.0, "USD", None, None, "$20.00 USD"),
        ("From: 250.00 $  - Cannabis", 250.0, "USD", None, None, "250.00 $"),
        ("£13.00 GBP", 13.0, "GBP", None, None, "£13.00 GBP"),
        ("฿0.000523", 0.000523, "BTC", None, None, "฿0.000523"),
        ("12 mBTC", 0.012, "BTC", None, None, "12 mBTC"),
        ("0.35 XMR", 0.35, "XMR", None, None, "0.35 XMR"),
        ("1.234,56 €", 1234.56, "EUR", None, None, "1.234,56 €"),
        ("1,234.56 USD", 1234.56, "USD", None, None, "1,234.56 USD"),
        ("5 000 руб.", 5000.0, "RUB", None, None, "5 000 руб"),
        ("1795.00 USD/1LB", 1795.0, "USD", "1LB", None, "1795.00 USD/1LB"),
        ("61.62 USD/56tab", 61.62, "USD", "56tab", None, "61.62 USD/56tab"),
        ("46.00 - 275.00 EUR", 46.0, "EUR", None, 275.0, "46.00 - 275.00 EUR"),
        ("US$ 12", 12.0, "USD", None, None, "US$ 12"),
    ],
)
def test_first_printed_price(text: str, amount: float, currency: str, unit: str | None, amount_max: float | None,
                             printed: str) -> None:
    span = find_price_spans(text)[0]
    assert span.amount == pytest.approx(amount)
    assert span.currency == currency
    assert span.unit == unit
    assert span.amount_max == (pytest.approx(amount_max) if amount_max is not None else None)
    assert text[span.start:span.end] == printed


def test_a_price_and_the_crypto_price_beside_it() -> None:
    spans = find_price_spans("Price: $60 / 0.005802 BTC")
    assert [(span.amount, span.currency, span.is_crypto) for span in spans] == [(60.0, "USD", False), (0.005802, "BTC", True)]
    spans = find_price_spans("฿0.000787 (€7.28)")
    assert [(span.amount, span.currency) for span in spans] == [(0.000787, "BTC"), (7.28, "EUR")]
    # "/ 0.0058 BTC" after a price is a second price, not a unit.
    assert find_price_spans("$60/0.005802 BTC")[0].unit is None


@pytest.mark.parametrize("text", [
    "", "Item #43473 -|- Created Oct 19, 2019", "Rating 4.8/5", "Europe 12", "USD + 8.00 / order", "in stock: 500",
])
def test_no_price_without_a_currency_next_to_the_amount(text: str) -> None:
    assert find_price_spans(text) == []


def test_the_cheap_test_agrees() -> None:
    assert may_hold_price("฿0.1") and may_hold_price("12 usd") and not may_hold_price("12 apples") and not may_hold_price("USD")


@pytest.mark.parametrize("hostile", [
    "1," * 100_000, "$" * 200_000, "1 " * 100_000, "USD1" * 50_000, ("9" * 5_000 + " USD/") * 40, "- 1 " * 60_000,
])
def test_hostile_text_is_read_in_bounded_time(hostile: str) -> None:
    started = time.perf_counter()
    find_price_spans(hostile, limit=1_000)
    # Text past MAX_TEXT_CHARS is never read and the walk is linear: far below a second here.
    assert time.perf_counter() - started < 2.0
    assert len(hostile) > MAX_TEXT_CHARS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_spans_point_into_the_text(text: str) -> None:
    for span in find_price_spans(text):
        assert 0 <= span.start < span.end <= len(text)
        assert span.amount >= 0
