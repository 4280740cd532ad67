"""Country spellings -> ISO 3166-1 alpha-2, with the EU and worldwide decisions."""

from __future__ import annotations

import pytest

from crawler.extractors.countries import (
    EUROPEAN_UNION,
    WORLDWIDE,
    load_country_table,
    normalise_country,
    parse_countries,
)


@pytest.mark.parametrize(
    "text, code",
    [
        ("Germany", "DE"), ("DEU", "DE"), ("de", "DE"), ("Deutschland", "DE"), ("Германия", "DE"),
        ("🇩🇪", "DE"), ("U.S.A.", "US"), ("United States", "US"), ("UK", "GB"), ("Holland", "NL"),
        ("Côte d'Ivoire", "CI"), ("Cote d'Ivoire", "CI"), ("Ships from: Netherlands", "NL"),
        ("Worldwide", WORLDWIDE), ("World wide", WORLDWIDE), ("По всему миру", WORLDWIDE),
        ("Europe", EUROPEAN_UNION), ("EU", EUROPEAN_UNION),
    ],
)
def test_normalise_country(text: str, code: str) -> None:
    assert normalise_country(text) == code


@pytest.mark.parametrize("text", ["", "Narnia", "Ships fast", "12345"])
def test_unknown_country_is_none(text: str) -> None:
    assert normalise_country(text) is None


def test_parse_countries_lists_and_exclusions() -> None:
    assert parse_countries("Netherlands, Germany & EU") == ["NL", "DE", "EU"]
    assert parse_countries("UK / Ireland and France") == ["GB", "IE", "FR"]
    assert parse_countries("Worldwide except USA") == [WORLDWIDE]
    assert parse_countries("🇩🇪🇳🇱") == ["DE", "NL"]
    assert parse_countries("Germany, Germany, DE") == ["DE"]
    assert parse_countries("Narnia, Spain") == ["ES"]


def test_table_covers_every_iso_country_once() -> None:
    table = load_country_table()
    codes = set(table.values())
    # 249 officially assigned alpha-2 codes plus EU and WW.
    assert len(codes) == 251
    assert all(len(code) == 2 and code.isupper() for code in codes)
