"""Integrity of the real-page corpus in tests/data/real (pages, provenance, ground truth, split).

The corpus is the oracle for extraction figures, so a page whose bytes drift from its recorded
source, a page without ground truth, a truth file that breaks the schema, or a market missing
from the split must fail here. The schema is described in tests/data/real/truth/SCHEMA.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
PAGES = REAL / "pages"
TRUTH = REAL / "truth"
SOURCES = REAL / "SOURCES.md"
SPLIT = REAL / "split.json"
# Site-type held-out pages (issue 14): sites in no other part of the corpus, with a site-type label
# (site_types.json "site_type_pages") and provenance, but no extraction truth.
SITE_TYPE_PAGES = REAL / "site_type_pages"
SITE_TYPE_FILE = re.compile(r"^page-[1-9][0-9]*\.html$")

PAGE_TYPES = {"category", "listing", "vendor", "thread", "other"}
FILE_NAME = re.compile(r"^(category|listing|vendor|thread|other)-[1-9][0-9]*\.html$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
FINGERPRINT = re.compile(r"^[0-9A-F]{40}$")
ROW = re.compile(r"^\|(?P<cells>.+)\|\s*$")

LISTING_KEYS = {"title", "price_text", "price", "currency", "vendor", "ships_from", "ships_to", "url"}
VENDOR_KEYS = {"name", "pgp_key_present", "pgp_fingerprints", "contacts", "rating", "sales", "joined", "joined_iso"}
POST_KEYS = {"author", "posted_at", "posted_text", "text_start"}


def page_files() -> list[Path]:
    """Return every saved page under pages/<market>/, sorted."""
    return sorted(PAGES.glob("*/*.html"))


def page_id(path: Path) -> str:
    """Return 'market/file.html' for a page or truth path."""
    return f"{path.parent.name}/{path.stem}.html"


def parse_sources(text: str, key_column: str = "market") -> dict[str, dict[str, str]]:
    """Return the SOURCES.md file tables whose first column is ``key_column``, keyed by 'market/file.html'.

    ``key_column`` "market" reads the rows of pages/, "site" those of site_type_pages/ (as 'site/file.html').
    Raises AssertionError on a row with the wrong number of cells or a repeated page.
    """
    header: list[str] | None = None
    rows: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if not match:
            header = None if not line.strip() else header
            continue
        cells = [cell.strip().strip("`") for cell in match.group("cells").split("|")]
        if "sha256" in cells and "file" in cells:
            header = cells if cells[0] == key_column else None
            continue
        if header is None or set("".join(cells)) <= set("- "):
            continue
        assert len(cells) == len(header), f"SOURCES.md row has {len(cells)} cells: {line}"
        row = dict(zip(header, cells))
        key = f"{row[key_column]}/{row['file']}"
        assert key not in rows, f"SOURCES.md lists {key} twice"
        rows[key] = row
    return rows


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def provenance_errors(page: Path, rows: dict[str, dict[str, str]]) -> list[str]:
    """Return what is wrong with a page's SOURCES.md row (empty when it matches)."""
    row = rows.get(page_id(page))
    if row is None:
        return [f"{page_id(page)} has no SOURCES.md row"]
    errors = []
    if not SHA256.match(row["sha256"]) or row["sha256"] != sha256_of(page):
        errors.append(f"{page_id(page)}: sha256 {sha256_of(page)} != SOURCES.md {row['sha256']}")
    if not COMMIT.match(row["commit"]):
        errors.append(f"{page_id(page)}: commit {row['commit']!r} is not a 40-hex commit")
    if not re.match(r"^[\w.-]+/[\w.-]+$", row["repository"]) or not row["path"]:
        errors.append(f"{page_id(page)}: repository/path missing")
    if "page type" in row and row["page type"] not in PAGE_TYPES:
        errors.append(f"{page_id(page)}: page type {row['page type']!r}")
    return errors


def _is_str_or_none(value: object) -> bool:
    return value is None or (isinstance(value, str) and value != "")


def _is_number_or_none(value: object) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0)


def listing_errors(item: object, where: str) -> list[str]:
    """Return schema violations of one listing object."""
    if not isinstance(item, dict):
        return [f"{where}: listing is not an object"]
    errors = [f"{where}: missing {key}" for key in sorted(LISTING_KEYS - item.keys())]
    if errors:
        return errors
    if not isinstance(item["title"], str) or not item["title"].strip():
        errors.append(f"{where}: empty title")
    for key in ("price_text", "currency", "vendor", "ships_from", "url"):
        if not _is_str_or_none(item[key]):
            errors.append(f"{where}: {key} must be a non-empty string or null")
    if not _is_number_or_none(item["price"]):
        errors.append(f"{where}: price must be a number or null")
    if (item["price"] is None) != (item["currency"] is None):
        errors.append(f"{where}: price and currency must be both set or both null")
    if item["price"] is not None and item["price_text"] is None:
        errors.append(f"{where}: a parsed price needs its price_text")
    if item["currency"] is not None and not re.fullmatch(r"[A-Z]{3,4}", item["currency"]):
        errors.append(f"{where}: currency {item['currency']!r} is not a code")
    if item["ships_to"] is not None and (
        not isinstance(item["ships_to"], list) or not all(isinstance(s, str) and s for s in item["ships_to"])
    ):
        errors.append(f"{where}: ships_to must be a list of strings or null")
    for flag in ("secondary", "vendor_shown"):
        if flag in item and not isinstance(item[flag], bool):
            errors.append(f"{where}: {flag} must be a boolean")
    return errors


def vendor_errors(vendor: object, where: str) -> list[str]:
    """Return schema violations of a vendor object."""
    if not isinstance(vendor, dict):
        return [f"{where}: vendor page needs a vendor object"]
    errors = [f"{where}: vendor missing {key}" for key in sorted(VENDOR_KEYS - vendor.keys())]
    if errors:
        return errors
    if not isinstance(vendor["name"], str) or not vendor["name"]:
        errors.append(f"{where}: vendor name")
    if not isinstance(vendor["pgp_key_present"], bool) or not isinstance(vendor["pgp_fingerprints"], list):
        errors.append(f"{where}: pgp fields")
    else:
        bad = [f for f in vendor["pgp_fingerprints"] if not isinstance(f, str) or not FINGERPRINT.match(f)]
        if bad:
            errors.append(f"{where}: fingerprints {bad} are not 40 upper-case hex digits")
        if vendor["pgp_fingerprints"] and not vendor["pgp_key_present"]:
            errors.append(f"{where}: fingerprints without a key on the page")
    contacts = vendor["contacts"]
    if not isinstance(contacts, list) or not all(
        isinstance(c, dict) and set(c) == {"type", "value"} and all(isinstance(v, str) and v for v in c.values())
        for c in contacts
    ):
        errors.append(f"{where}: contacts must be a list of {{type, value}}")
    if vendor["sales"] is not None and (not isinstance(vendor["sales"], int) or vendor["sales"] < 0):
        errors.append(f"{where}: sales must be a non-negative int or null")
    if vendor["joined_iso"] is not None:
        try:
            datetime.fromisoformat(vendor["joined_iso"])
        except (TypeError, ValueError):
            errors.append(f"{where}: joined_iso {vendor['joined_iso']!r} is not ISO")
    return errors


def post_errors(post: object, where: str) -> list[str]:
    """Return schema violations of one forum post."""
    if not isinstance(post, dict):
        return [f"{where}: post is not an object"]
    errors = [f"{where}: post missing {key}" for key in sorted(POST_KEYS - post.keys())]
    if errors:
        return errors
    if not isinstance(post["author"], str) or not post["author"]:
        errors.append(f"{where}: author")
    if not isinstance(post["text_start"], str) or not 0 < len(post["text_start"]) <= 80:
        errors.append(f"{where}: text_start must be 1-80 characters")
    if post["posted_at"] is not None:
        try:
            stamp = datetime.fromisoformat(post["posted_at"])
        except (TypeError, ValueError):
            errors.append(f"{where}: posted_at {post['posted_at']!r} is not ISO")
        else:
            if stamp.utcoffset() is None or stamp.utcoffset().total_seconds() != 0:
                errors.append(f"{where}: posted_at must be UTC (+00:00)")
    elif not post.get("posted_local"):
        errors.append(f"{where}: a post needs posted_at or posted_local")
    return errors


def truth_errors(path: Path, page_type_from_sources: str | None = None) -> list[str]:
    """Return every schema violation of one truth file (empty when it follows SCHEMA.md)."""
    where = page_id(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{where}: does not parse: {exc}"]
    if not isinstance(doc, dict):
        return [f"{where}: not an object"]
    missing = {"schema", "market", "page", "page_type", "language", "listings", "vendor", "posts"} - doc.keys()
    if missing:
        return [f"{where}: missing {sorted(missing)}"]
    errors = []
    if doc["schema"] != 1:
        errors.append(f"{where}: schema {doc['schema']!r}")
    if doc["market"] != path.parent.name or doc["page"] != f"{path.stem}.html":
        errors.append(f"{where}: market/page fields do not name this file")
    page_type = doc["page_type"]
    if page_type not in PAGE_TYPES or not path.stem.startswith(f"{page_type}-"):
        errors.append(f"{where}: page_type {page_type!r} does not match the file name")
    if page_type_from_sources is not None and page_type_from_sources != page_type:
        errors.append(f"{where}: SOURCES.md says {page_type_from_sources}, truth says {page_type}")
    if doc["language"] not in {"en", "ru", "de"}:
        errors.append(f"{where}: language {doc['language']!r}")
    if not isinstance(doc["listings"], list) or not isinstance(doc["posts"], list):
        return errors + [f"{where}: listings and posts must be lists"]
    for i, item in enumerate(doc["listings"]):
        errors += listing_errors(item, f"{where} listing {i}")
    for i, post in enumerate(doc["posts"]):
        errors += post_errors(post, f"{where} post {i}")
    if page_type in {"thread", "other"} and doc["listings"]:
        errors.append(f"{where}: {page_type} pages must have no listings")
    if page_type == "listing" and len(doc["listings"]) != 1:
        errors.append(f"{where}: a listing page has exactly one listing")
    if page_type == "thread" and not doc["posts"]:
        errors.append(f"{where}: a thread page needs its posts")
    if page_type != "thread" and doc["posts"]:
        errors.append(f"{where}: posts only on thread pages")
    if page_type == "vendor":
        errors += vendor_errors(doc["vendor"], where)
    elif doc["vendor"] is not None:
        errors.append(f"{where}: vendor object only on vendor pages")
    return errors


def test_corpus_size_and_coverage() -> None:
    pages = page_files()
    markets = {p.parent.name for p in pages}
    types = {p.stem.split("-")[0] for p in pages}
    assert 40 <= len(pages) <= 100
    assert len(markets) >= 12
    assert types == PAGE_TYPES
    assert all(FILE_NAME.match(p.name) for p in pages), [p.name for p in pages if not FILE_NAME.match(p.name)]
    assert sum(p.stat().st_size for p in pages) < 40 * 1024 * 1024


@pytest.mark.parametrize("page", page_files(), ids=page_id)
def test_page_matches_its_source_row(page: Path) -> None:
    rows = parse_sources(SOURCES.read_text(encoding="utf-8"))
    assert provenance_errors(page, rows) == []


def test_sources_list_no_missing_pages() -> None:
    rows = parse_sources(SOURCES.read_text(encoding="utf-8"))
    assert sorted(rows) == sorted(page_id(p) for p in page_files())


@pytest.mark.parametrize("page", page_files(), ids=page_id)
def test_page_has_valid_truth(page: Path) -> None:
    rows = parse_sources(SOURCES.read_text(encoding="utf-8"))
    truth = TRUTH / page.parent.name / f"{page.stem}.json"
    assert truth.is_file(), f"{page_id(page)} has no truth file"
    row = rows.get(page_id(page))
    assert truth_errors(truth, row["page type"] if row else None) == []


def test_no_truth_without_a_page() -> None:
    truths = sorted(page_id(p) for p in TRUTH.glob("*/*.json"))
    assert truths == sorted(page_id(p) for p in page_files())


def test_split_covers_every_market_once() -> None:
    split = json.loads(SPLIT.read_text(encoding="utf-8"))
    development, held_out = split["development"], split["held_out"]
    markets = sorted({p.parent.name for p in page_files()})
    assert sorted(development + held_out) == markets
    assert len(set(development + held_out)) == len(development) + len(held_out)
    # Since the fourth rotation (SPLIT.md, 2026-12-07) every earlier held-out site is development and the
    # held-out set is three unseen sites with category, listing and other pages; collect9b's four unseen sites
    # (2026-12-07) add a forum thread, so ">= 4" sites and a thread page hold again. No unseen vendor profile
    # was found: restore "every page type" when one is added.
    assert len(held_out) >= 4
    held_types = {p.stem.split("-")[0] for p in page_files() if p.parent.name in held_out}
    assert {"category", "listing", "other"} <= held_types
    assert "thread" in held_types
    development_types = {p.stem.split("-")[0] for p in page_files() if p.parent.name in development}
    assert development_types == PAGE_TYPES


def test_split_md_names_the_same_markets() -> None:
    split = json.loads(SPLIT.read_text(encoding="utf-8"))
    text = (REAL / "SPLIT.md").read_text(encoding="utf-8")
    for side, label in (("development", "development"), ("held_out", "held-out")):
        for market in split[side]:
            assert f"| {market} | {label} |" in text


def test_checks_catch_a_changed_page_and_a_broken_truth(tmp_path: Path) -> None:
    rows = parse_sources(SOURCES.read_text(encoding="utf-8"))
    page = page_files()[0]
    copy = tmp_path / page.parent.name / page.name
    copy.parent.mkdir()
    shutil.copyfile(page, copy)
    assert provenance_errors(copy, rows) == []
    copy.write_bytes(copy.read_bytes() + b" ")
    assert provenance_errors(copy, rows) != []

    truth = TRUTH / page.parent.name / f"{page.stem}.json"
    broken = tmp_path / page.parent.name / truth.name
    doc = json.loads(truth.read_text(encoding="utf-8"))
    doc["page_type"] = "thread"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    assert truth_errors(broken) != []
    broken.write_text("{", encoding="utf-8")
    assert truth_errors(broken) != []


def site_type_page_files() -> list[Path]:
    """Return every saved page under site_type_pages/<site>/, sorted."""
    return sorted(SITE_TYPE_PAGES.glob("*/*.html"))


@pytest.mark.parametrize("page", site_type_page_files(), ids=page_id)
def test_site_type_page_matches_its_source_row(page: Path) -> None:
    rows = parse_sources(SOURCES.read_text(encoding="utf-8"), key_column="site")
    assert SITE_TYPE_FILE.match(page.name)
    assert provenance_errors(page, rows) == []


def test_site_type_pages_sources_and_split() -> None:
    """Every site_type_pages/ file has a "site" row, its site is in exactly one site-type split
    (site_type_held_out, _3, _4, _5, _6, _7, _8, _9 or site_type_development), and no held-out site is a market of
    pages/ (so nothing tuned on pages/ has seen them)."""
    pages = site_type_page_files()
    rows = parse_sources(SOURCES.read_text(encoding="utf-8"), key_column="site")
    assert sorted(rows) == sorted(page_id(p) for p in pages)
    split = json.loads(SPLIT.read_text(encoding="utf-8"))
    sites = split["site_type_held_out"]
    third = split["site_type_held_out_3"]
    fourth = split["site_type_held_out_4"]
    fifth = split["site_type_held_out_5"]
    sixth = split["site_type_held_out_6"]
    # The eighth set: created empty by collect9b (2026-12-07); collect9c added the few clean onion pages the DARPA Memex
    # repositories held (anonymised CAPTCHA/login walls of Formasaurus and a block explorer's page, SPLIT.md "Ninth set").
    eighth = split["site_type_held_out_8"]
    seventh = split["site_type_held_out_7"]
    # The ninth set (SPLIT.md "Tenth set", collect10): two onions of the Cicada 3301 puzzle, as one site.
    ninth = split["site_type_held_out_9"]
    held = sites + third + fourth + fifth + sixth + seventh + eighth + ninth
    # Site-type development sites: spent extraction sites of pages/ (held-out ones until the fourth rotation
    # moved them to development) and site_type_pages/ sites.
    development = set(split["site_type_development"])
    assert development <= set(split["development"] + split["held_out"]) | {p.parent.name for p in pages}
    # Every site_type_pages/ site is in exactly one site-type split.
    assert len(set(held)) == len(held) and not set(held) & development
    assert (sorted(set(held) | (development & {p.parent.name for p in pages}))
            == sorted({p.parent.name for p in pages}))
    for held_out_set in (sites, third, fourth, fifth, sixth, seventh, eighth, ninth):
        assert not set(held_out_set) & set(split["development"] + split["held_out"])
        assert not set(held_out_set) & {p.parent.name for p in page_files()}
    # The fourth set (SPLIT.md): sites never in the corpus before, labelled by reading.
    assert len(fourth) >= 15 and len([p for p in pages if p.parent.name in fourth]) >= 30
    # The fifth set (SPLIT.md, 2026-12-07): at least 20 sites and 25 pages never in the corpus before, every page
    # labelled, spread over at least five of the seven site types (market pages among them).
    fifth_pages = [p for p in pages if p.parent.name in fifth]
    assert len(fifth) >= 20 and len(fifth_pages) >= 25
    labels = json.loads((REAL / "site_types.json").read_text(encoding="utf-8"))["site_type_pages"]
    fifth_types = {labels[page_id(p).removesuffix(".html")]["site_type"] for p in fifth_pages}
    assert len(fifth_types) >= 5 and "market" in fifth_types
    # The sixth set (SPLIT.md, 2026-12-07): the few sites never in the corpus before that the sources still had
    # (3 sites, one page each, two types), every page labelled.
    sixth_pages = [p for p in pages if p.parent.name in sixth]
    assert len(sixth) >= 3 and len(sixth_pages) >= 3
    assert {p.parent.name for p in sixth_pages} == set(sixth)
    sixth_types = {labels[page_id(p).removesuffix(".html")]["site_type"] for p in sixth_pages}
    assert len(sixth_types) >= 2
    # The seventh set (SPLIT.md, 2026-12-07): the one clean site never in the corpus before that the searched
    # sources still held (Incognito Market's CAPTCHA wall), its page labelled; no site of an earlier set.
    seventh_pages = [p for p in pages if p.parent.name in seventh]
    assert len(seventh) >= 1 and {p.parent.name for p in seventh_pages} == set(seventh)
    assert all(page_id(p).removesuffix(".html") in labels for p in seventh_pages)
    # The eighth set (SPLIT.md "Ninth set"): every site has its pages, every page is labelled.
    eighth_pages = [p for p in pages if p.parent.name in eighth]
    assert len(eighth) >= 4 and len(eighth_pages) >= 5
    assert {p.parent.name for p in eighth_pages} == set(eighth)
    assert all(page_id(p).removesuffix(".html") in labels for p in eighth_pages)
    # The ninth set (SPLIT.md "Tenth set"): every site has its pages, every page is labelled.
    ninth_pages = [p for p in pages if p.parent.name in ninth]
    assert len(ninth) >= 1 and len(ninth_pages) >= 2
    assert {p.parent.name for p in ninth_pages} == set(ninth)
    assert all(page_id(p).removesuffix(".html") in labels for p in ninth_pages)
    held_out_pages = [p for p in pages if p.parent.name in sites]
    assert len(held_out_pages) >= 12 and len(sites) >= 8
    # Raised from 4 MiB to 5 MiB with the fifth set (its Discourse forum page alone is 256 KB).
    assert sum(p.stat().st_size for p in pages) < 5 * 1024 * 1024
    # A "market" table row must not be mistaken for a "site" row, and the other way round.
    assert not set(rows) & set(parse_sources(SOURCES.read_text(encoding="utf-8")))
