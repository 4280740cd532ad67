"""Price-with-currency parsing: both decimal conventions, symbols, codes, crypto."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from crawler.extractors.prices import Price, find_prices, normalise_currency, parse_amount, parse_price


@pytest.mark.parametrize(
    "text, amount, currency",
    [
        ("$120.50", 120.50, "USD"),
        ("120 USD", 120.0, "USD"),
        ("0.0021 BTC", 0.0021, "BTC"),
        ("$0.0021", 0.0021, "USD"),
        ("€95", 95.0, "EUR"),
        ("1,234.56 EUR", 1234.56, "EUR"),
        ("1.234,56 €", 1234.56, "EUR"),
        ("0.35 XMR", 0.35, "XMR"),
        ("USD 120", 120.0, "USD"),
        ("US$ 12", 12.0, "USD"),
        ("£1,200", 1200.0, "GBP"),
        ("12,5 €", 12.5, "EUR"),
        ("0,375 BTC", 0.375, "BTC"),
        ("5 000 руб.", 5000.0, "RUB"),
        ("₽ 5000", 5000.0, "RUB"),
        ("120USDT", 120.0, "USDT"),
        ("3 euros", 3.0, "EUR"),
        ("Price: 1.5 Monero", 1.5, "XMR"),
    ],
)
def test_parse_price_reads_amount_and_currency(text: str, amount: float, currency: str) -> None:
    price = parse_price(text)
    assert price is not None
    assert price.currency == currency
    assert price.amount == pytest.approx(amount)


def test_find_prices_keeps_order_and_flags_crypto() -> None:
    prices = find_prices("Price: 120 EUR / 0.0021 BTC / 0.35 XMR")
    assert [p.currency for p in prices] == ["EUR", "BTC", "XMR"]
    assert [p.is_crypto for p in prices] == [False, True, True]


@pytest.mark.parametrize("text", ["", "Europe 12", "price on request", "Rating 4.8/5", "eurovision 2024"])
def test_no_price_without_a_currency(text: str) -> None:
    assert parse_price(text) is None


def test_bare_number_takes_the_default_currency() -> None:
    assert parse_price("49.90", default_currency="eur") == Price(49.90, "EUR")
    assert parse_price("49.90") is None


@pytest.mark.parametrize(
    "text, value",
    [("1,234", 1234.0), ("1.234.567", 1234567.0), ("12,5", 12.5), ("1 000,25", 1000.25), ("0,375", 0.375)],
)
def test_parse_amount_decimal_conventions(text: str, value: float) -> None:
    assert parse_amount(text) == pytest.approx(value)


def test_parse_amount_rejects_words_and_huge_numbers() -> None:
    assert parse_amount("twelve") is None
    assert parse_amount("9" * 40) is None


def test_normalise_currency() -> None:
    assert normalise_currency(" usd ") == "USD"
    assert normalise_currency("Bitcoin") == "BTC"
    assert normalise_currency("руб.") == "RUB"
    assert normalise_currency("€") == "EUR"
    assert normalise_currency("doubloons") is None


@given(st.text(max_size=300))
def test_find_prices_never_crashes_and_amounts_are_finite(text: str) -> None:
    for price in find_prices(text):
        assert price.amount >= 0
        assert price.amount < float("inf")
        assert price.currency.isupper()
