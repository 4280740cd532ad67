"""The median-price-per-gram chart on the real Elasticsearch node: one chart per currency, never mixed.

Listings priced in USD, EUR and BTC (and one market selling in two
currencies) are indexed through the real bulk pipeline; ``/timelines`` is asked
in-process.  The expected medians are worked out here from the listings as
written (amount / grams), not by the code under test, and each ``<svg>`` of the
page is read for its data: its ``data-unit`` and its points.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from crawler.items import Listing
from search.api import create_app
from search.auth import create_token
from tests.integration.search_world import search_es  # noqa: F401 -- fixture

pytestmark = pytest.mark.integration

# (market, listing id, title, amount, currency, day): the title names the weight.
PRICED = [
    ("alpha", "a1", "Ketamine 1g crystal", 30.0, "USD", 10),
    ("alpha", "a2", "Ketamine 5g bulk", 120.0, "USD", 10),
    ("alpha", "a3", "Ketamine 2g", 50.0, "USD", 11),
    ("alpha", "a4", "Ketamine 10g", 0.004, "BTC", 11),  # the same market also prices in BTC
    ("beta", "b1", "Ketamine 1g", 25.0, "EUR", 10),
    ("beta", "b2", "Ketamine 3g", 66.0, "EUR", 12),
    ("gamma", "g1", "Ketamine 1g", 0.0005, "BTC", 12),
]


class _Charts(HTMLParser):
    """Each ``svg[data-chart=price-per-gram]`` of a page: its attributes and its points' attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict[str, object]] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "svg" and values.get("data-chart") == "price-per-gram":
            self.charts.append({"attributes": values, "points": []})
            self.depth = 1
        elif self.depth:
            if tag == "svg":
                self.depth += 1
            if "point" in (values.get("class") or "").split():
                self.charts[-1]["points"].append(values)  # type: ignore[union-attr]

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "svg":
            self.depth -= 1


@pytest.fixture(scope="module")
def http(search_es):  # noqa: F811 -- fixture
    from pipelines.item_indexer import BulkIndexer
    from pipelines.indices import ensure_indices

    client, prefix, settings = search_es
    ensure_indices(client, prefix)
    listings = [
        Listing(market=market, listing_id=listing_id, url=f"http://{market}{'x' * 51}.onion/l/{listing_id}",
                title=title, description="", fetched_at=f"2026-02-{day:02d}T12:00:00Z", job_id="t",
                price_amount=amount, price_currency=currency, substances=["ketamine"])
        for market, listing_id, title, amount, currency, day in PRICED
    ]
    BulkIndexer(client, prefix, None, max_retries=1, backoff_seconds=0.1).index_items(listings)
    client.indices.refresh(index=f"{prefix}-*")
    token, _record = create_token(client, prefix, "viewer", "price chart test")
    with TestClient(create_app(settings, client)) as test_client:
        test_client.headers["authorization"] = f"Bearer {token}"
        yield test_client


def _expected() -> dict[str, dict[tuple[str, str], float]]:
    prices: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    for market, _listing_id, title, amount, currency, day in PRICED:
        grams = float(re.search(r"(\d+)g", title).group(1))
        prices[currency][(market, f"2026-02-{day:02d}")].append(amount / grams)
    return {currency: {key: statistics.median(values) for key, values in per_key.items()}
            for currency, per_key in prices.items()}


def test_one_price_chart_per_currency_with_the_medians_of_that_currency(http) -> None:
    page = http.get("/timelines", params={"substance": "ketamine", "days": 366}, headers={"accept": "text/html"})
    assert page.status_code == 200
    parser = _Charts()
    parser.feed(page.text)
    expected = _expected()
    drawn: dict[str, dict[tuple[str, str], float]] = {}
    for chart in parser.charts:
        unit = chart["attributes"].get("data-unit")  # type: ignore[union-attr]
        assert unit and unit not in drawn, f"a price chart without a currency, or two for {unit}"
        drawn[unit] = {(point["data-series"], point["data-x"]): float(point["data-value"])
                       for point in chart["points"]}  # type: ignore[union-attr]
    assert set(drawn) == {"BTC", "EUR", "USD"}
    for currency, points in expected.items():
        assert set(drawn[currency]) == set(points), currency
        for key, median in points.items():
            assert drawn[currency][key] == pytest.approx(median, rel=1e-6), (currency, key)
    # The JSON twin carries the same numbers per currency.
    data = http.get("/timelines", params={"substance": "ketamine", "days": 366},
                    headers={"accept": "application/json"}).json()
    twin = {currency: {(market, day): value for market, days in per_market.items() for day, value in days.items()}
            for currency, per_market in data["prices"]["currencies"].items()}
    assert set(twin) == set(expected)
    for currency, points in expected.items():
        for key, median in points.items():
            assert twin[currency][key] == pytest.approx(median, rel=1e-6)
