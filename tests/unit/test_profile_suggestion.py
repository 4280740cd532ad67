"""``onionscope profile suggest``: a profile from saved pages, loaded, applied, compared with the truth.

End to end on the DEVELOPMENT markets of the real corpus (tests/data/real):
suggest a profile from a market's pages with the command, load it with the
profile loader, extract the same pages with it, and compare with the
hand-read truth files -- recall 1.0 on title and price for the cards of
category and vendor pages and for detail pages.  Held-out markets appear only
in bench/extraction_real.py.  Expected values are the truth files, never the
extractor's output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.extractors.document import extract_document
from crawler.extractors.market_profiles import MarketProfiles, load_profile
from crawler.extractors.profile_suggestion import SavedPage, suggest_profile, url_pattern
from crawler.extractors.onions import v3_onion_from_pubkey
from config.errors import UserError
from onionscope.cli import main

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
SPLIT = json.loads((REAL / "split.json").read_text(encoding="utf-8"))
HOST = v3_onion_from_pubkey(bytes(range(32)))
FETCHED_AT = "2025-12-01T00:00:00Z"
# Development markets whose pages show listings (darkfail and sinister-ly have none).
MARKETS = ["apollon", "berlusconi", "blackry", "cypher", "dream", "empire", "europa", "pax-romana", "square-market",
           "yellow-brick"]


def norm(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def pages_of(market: str) -> list[Path]:
    assert market in SPLIT["development"], "specific assertions use development markets only"
    return sorted((REAL / "pages" / market).glob("*.html"))


def truth_of(page: Path) -> dict[str, Any]:
    return json.loads((REAL / "truth" / page.parent.name / (page.stem + ".json")).read_text(encoding="utf-8"))


def same_title_and_price(truth: dict[str, Any], listing: Any) -> bool:
    return (norm(truth["title"]) == norm(listing.title) and listing.price_currency == truth["currency"]
            and listing.price_amount is not None and abs(listing.price_amount - truth["price"]) <= 0.005 * truth["price"])


def suggest_with_the_command(market: str, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    status = main(["profile", "suggest", *map(str, pages_of(market)), "--market", market, "--host", HOST,
                   "--out", str(out)])
    output = capsys.readouterr()
    assert status == 0, output.err
    return output.out


@pytest.mark.parametrize("market", MARKETS)
def test_a_suggested_profile_gives_every_title_and_price_of_its_market(
        market: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"{market}.yml"
    printed = suggest_with_the_command(market, out, capsys)
    assert str(out) in printed
    profile = load_profile(out)  # the existing loader, with its file:line validation
    assert profile.name == market and HOST in profile.hosts
    profiles = MarketProfiles([profile])
    expected_cards = found_cards = expected_details = found_details = 0
    for page in pages_of(market):
        truth = truth_of(page)
        url = f"http://{HOST}/{market}/{page.name}"
        document = extract_document(page.read_bytes(), url, FETCHED_AT, "test-suggest", profiles=profiles)
        assert document.extractor in ("profile", None) and document.market in (market, None)
        if truth["page_type"] in ("category", "vendor"):
            cards = [item for item in document.listings if item.extractor == "card"]
            assert all(item.market == market for item in cards)
            left = list(cards)
            for card in (item for item in truth["listings"] if not item.get("secondary")):
                expected_cards += 1
                match = next((item for item in left if same_title_and_price(card, item)), None)
                if match is not None:
                    left.remove(match)
                    found_cards += 1
            # Nothing invented: every card the profile gives is one the page shows.
            assert all(any(norm(item.title) == norm(card["title"]) for card in truth["listings"]) for item in left)
        elif truth["page_type"] == "listing":
            (expected,) = truth["listings"]
            expected_details += 1
            found_details += any(item.extractor == "profile" and same_title_and_price(expected, item)
                                 for item in document.listings)
        else:  # forum, login, anti-DDoS and empty result pages
            assert document.listings == []
    assert (found_cards, found_details) == (expected_cards, expected_details)
    assert expected_cards + expected_details > 0


@pytest.mark.parametrize("market", ["blackry", "cypher", "square-market", "yellow-brick"])
def test_a_simple_market_gets_a_short_commented_profile(
        market: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Category pages only: about 15 lines, the card rule with its fields, 'check' where thin."""
    out = tmp_path / "profile.yml"
    suggest_with_the_command(market, out, capsys)
    lines = out.read_text(encoding="utf-8").splitlines()
    rules = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert len(rules) <= 16, "\n".join(lines)
    text = "\n".join(lines)
    for key in ("cards:", "title:", "price:", "url:", "marker:"):
        assert key in text
    assert "# check" in text  # only category pages were given: a person checks the marker


def test_cards_of_a_suggested_profile_merge_with_their_detail_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A card and the detail page at its URL are one document (same _id) under the suggested profile:
    the card's id is the one the listing rule's URL pattern gives the detail page."""
    out = tmp_path / "empire.yml"
    suggest_with_the_command("empire", out, capsys)
    profiles = MarketProfiles([load_profile(out)])
    category = (REAL / "pages" / "empire" / "category-1.html").read_bytes()
    card = extract_document(category, f"http://{HOST}/c/1", FETCHED_AT, "t", profiles=profiles).listings[0]
    assert card.extractor == "card"
    detail_url = f"http://{HOST}{urlsplit(card.url).path}"  # the card's detail page, fetched on the market's host
    detail = extract_document((REAL / "pages" / "empire" / "listing-1.html").read_bytes(), detail_url, FETCHED_AT,
                              "t", profiles=profiles)
    (listing,) = detail.listings
    assert (listing.extractor, listing.market) == ("profile", "empire")
    assert listing.listing_id == card.listing_id == urlsplit(card.url).path.rsplit("/", 1)[1]
    assert listing.doc_id() == card.doc_id()


def test_it_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "blackry.yml"
    out.write_text("# a profile someone wrote by hand\n", encoding="utf-8")
    args = ["profile", "suggest", str(pages_of("blackry")[0]), "--market", "blackry", "--host", HOST, "--out", str(out)]
    assert main(args) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "# a profile someone wrote by hand\n"
    assert main([*args, "--force"]) == 0
    assert load_profile(out).name == "blackry"


def test_the_default_place_is_config_dir_markets(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "markets").mkdir()
    monkeypatch.setenv("ONIONSCOPE_CONFIG_DIR", str(tmp_path))
    assert main(["profile", "suggest", *map(str, pages_of("square-market")), "--market", "square-market",
                 "--host", HOST]) == 0
    written = tmp_path / "markets" / "square-market.yml"
    assert str(written) in capsys.readouterr().out
    assert MarketProfiles.load(tmp_path / "markets").get("square-market").hosts == {HOST}


@pytest.mark.parametrize("args, message", [
    (["--market", "Black Ry"], "market name 'Black Ry'"),
    (["--market", "blackry", "--host", "example.com"], "--host 'example.com': expected an onion host"),
])
def test_bad_names_and_hosts_are_one_line_errors(args: list[str], message: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "suggest", str(pages_of("blackry")[0]), "--out", str(tmp_path / "x.yml"), *args]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.yml").exists()


def test_pages_without_listings_give_no_profile() -> None:
    pages = [SavedPage(path.name, path.read_bytes()) for path in pages_of("sinister-ly") + pages_of("darkfail")]
    with pytest.raises(UserError, match="none of the pages shows a listing card"):
        suggest_profile(pages, "forum", host=HOST)


def test_without_a_host_the_market_is_known_by_a_site_marker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "empire.yml"
    assert main(["profile", "suggest", *map(str, pages_of("empire")), "--market", "empire", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "hosts:" not in text and "site_markers:" in text and "# check: no host given" in text
    profile = load_profile(out)
    html = (REAL / "pages" / "empire" / "category-1.html").read_bytes()
    other_host = v3_onion_from_pubkey(bytes(range(1, 33)))
    document = extract_document(html, f"http://{other_host}/c/1", FETCHED_AT, "t", profiles=MarketProfiles([profile]))
    assert document.looks_like_market == "empire"  # a resemblance: the market is never bound to that host
    assert {item.market for item in document.listings} == {other_host}


def test_names_and_messages_are_escaped_for_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "evil\x1b]0;owned\x07.html"
    page.write_bytes(pages_of("blackry")[0].read_bytes())
    assert main(["profile", "suggest", str(page), "--market", "blackry", "--host", HOST,
                 "--out", str(tmp_path / "p.yml")]) == 0
    output = capsys.readouterr().out
    assert "\x1b" not in output and "\x07" not in output
    assert "evil\\x1b]0;owned\\x07.html" in output


HOSTILE_PAGE = """\
<html><head><title>Hostile Bazaar</title></head><body>
<div class="grid">
{cards}
</div></body></html>
"""
HOSTILE_CARD = """\
<div class="item x'y evil&quot;}}]" id="c{number}">
  <h3 class="name">Item {number} ' "quoted" \\ back\\slash</h3>
  <span class="cost">${number}.50</span>
  <a class="go" href="/offer/{number}">view</a><a class="seller" href="/u/seller{number}">seller{number}</a>
</div>
"""


def test_hostile_markup_never_breaks_the_profile(tmp_path: Path) -> None:
    """Quotes, brackets and backslashes in classes and titles: the YAML still loads and reproduces the cards."""
    html = HOSTILE_PAGE.format(cards="".join(HOSTILE_CARD.format(number=n) for n in range(1, 6)))
    suggestion = suggest_profile([SavedPage("hostile.html", html)], "hostile", host=HOST)
    assert "x'y" not in suggestion.text and "evil" not in suggestion.text
    path = tmp_path / "hostile.yml"
    path.write_text(suggestion.text, encoding="utf-8")
    document = extract_document(html, f"http://{HOST}/c", FETCHED_AT, "t", profiles=MarketProfiles([load_profile(path)]))
    assert [(item.title, item.price_amount) for item in document.listings] == [
        (f"Item {n} ' \"quoted\" \\ back\\slash", n + 0.5) for n in range(1, 6)]
    assert [check.same_title_price for check in suggestion.pages] == [5]


@pytest.mark.parametrize("urls, pattern, ids", [
    (["http://h.onion/listing.php?ls_id=43473", "http://h.onion/listing.php?cat=2&ls_id=92209"],
     r"^/listing\.php\?(?:[^#]*&)?ls_id=(?P<listing_id>[^&#]+)", ["43473", "92209"]),
    (["http://h.onion/product/35791/105/186765", "http://h.onion/product/58269/141/232625"],
     r"^/product/[^/?#]+/[^/?#]+/(?P<listing_id>[^/?#]+)", ["186765", "232625"]),
    (["http://h.onion/item/5.html", "http://h.onion/item/77.html"], r"^/item/(?P<listing_id>[^/?#]+?)\.html",
     ["5", "77"]),
])
def test_url_patterns_keep_what_is_constant_and_capture_the_id(urls: list[str], pattern: str, ids: list[str]) -> None:
    found = url_pattern(urls, with_id=True)
    assert found == (pattern, len(urls))
    compiled = re.compile(found[0])
    assert [compiled.search(url.split("h.onion", 1)[1]).group("listing_id") for url in urls] == ids  # type: ignore[union-attr]
    assert not compiled.search("/u/vendor?x=1")


def test_the_readme_example_profile_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Writing or suggesting a profile", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    text = "\n".join(line[3:] for line in block.splitlines())  # the block is indented under a list item
    path = tmp_path / "bazaar.yml"
    path.write_text(text.replace("<56 characters>.onion", HOST), encoding="utf-8")
    profile = load_profile(path)
    assert profile.name == "bazaar" and profile.pages["category"].cards is not None


def test_a_url_pattern_needs_something_constant() -> None:
    """Links that share no path segment or query key say nothing about the page type: no pattern
    (it would claim every URL of that depth, category pages included)."""
    assert url_pattern(["http://h.onion/a1/5", "http://h.onion/b2/6"], with_id=True) is None
    assert url_pattern(["http://h.onion/alice", "http://h.onion/bob"], with_id=False) is None
    assert url_pattern(["http://h.onion/alice/", "http://h.onion/bob/"], with_id=False) is None
    assert url_pattern(["http://h.onion/?u=alice", "http://h.onion/?u=bob"], with_id=False) == (
        r"^/(?=\?(?:[^#]*&)?u=)", 2)
