"""Onions, contacts and scraper traps on real saved pages of the development markets.

Only development markets (tests/data/real/SPLIT.md) are used here.  Expected
values are read from the pages (with lxml and an onion checksum written out
here from Tor's rend-spec-v3) or from the corpus's ground truth, never from
the extractor under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from lxml import html as lxml_html

from crawler.extractors.document import extract_document

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
FETCHED_AT = "2026-01-01T00:00:00Z"
DEVELOPMENT = set(json.loads((REAL / "split.json").read_text(encoding="utf-8"))["development"])


def real_page(market: str, name: str, url: str) -> object:
    assert market in DEVELOPMENT, f"{market} is held out: never tune on it"
    return extract_document((REAL / "pages" / market / name).read_bytes(), url, FETCHED_AT, "real")


def checksummed_v3(host: str) -> bool:
    """rend-spec-v3: base32(pubkey || SHA3-256(".onion checksum" || pubkey || 0x03)[:2] || 0x03)."""
    label = host.removesuffix(".onion")
    if len(label) != 56:
        return False
    raw = base64.b32decode(label.upper())
    return raw[34:] == b"\x03" and raw[32:34] == hashlib.sha3_256(b".onion checksum" + raw[:32] + b"\x03").digest()[:2]


def test_dark_fail_v3_addresses_in_plain_text_are_mentions_and_offered_to_discovery() -> None:
    """dark.fail prints its links as unclickable <code> text; the v3 ones (checked here) are
    mentions in text and, being shown, offered to discovery in page order."""
    source = (REAL / "pages" / "darkfail" / "other-1.html").read_bytes()
    codes = lxml_html.fromstring(source).xpath("//body//code[not(ancestor::*[@class='fud'])]/text()")
    hosts = [code.strip().split("//")[-1].strip("/").lower() for code in codes]
    expected = list(dict.fromkeys(host for host in hosts if checksummed_v3(host)))
    assert len(expected) >= 10
    page = real_page("darkfail", "other-1.html", "https://dark.fail/").page
    text_v3 = [m["host"] for m in page.onion_mentions if m["version"] == 3 and m["where"] == "text"]
    assert text_v3 == expected
    assert page.discovery_onions == expected
    assert not any(m["obfuscated"] for m in page.onion_mentions)


def test_dark_fail_decoys_are_hidden_mentions_and_never_offered() -> None:
    """The Empire status page lists Facebook's and the Tor Project's old v2 onions in
    `tr.fud` rows that `.fud{display:none}` hides, then Empire's own mirror."""
    page = real_page("darkfail", "other-3.html", "https://dark.fail/empire").page
    # Shown mentions first, then hidden ones, each in page order.
    assert page.onion_mentions == [
        {"host": "3fhlgs5fekkqec4p.onion", "version": 2, "where": "text", "obfuscated": False, "hidden": False},
        {"host": "facebookcorewwwi.onion", "version": 2, "where": "text", "obfuscated": False, "hidden": True},
        {"host": "expyuzz4wqqyqhjn.onion", "version": 2, "where": "text", "obfuscated": False, "hidden": True},
    ]
    assert page.hidden_identifiers == ["facebookcorewwwi.onion", "expyuzz4wqqyqhjn.onion"]
    assert page.discovery_onions == []  # v2 services no longer exist; the decoys are hidden anyway


def test_wickr_handle_in_listing_titles_is_a_contact() -> None:
    """BlackRy's category page has listings titled "buy high quality marijuana (wickr:caregivers420)"."""
    page = real_page("blackry", "category-1.html", "http://blackrypq3kdv3mz.onion/category/1").page
    assert {"kind": "wickr", "value": "caregivers420", "source": "text", "obfuscated": False, "hidden": False} \
        in page.contacts


def test_a_wickr_label_without_a_username_is_no_contact_and_contacts_count_once() -> None:
    """Apollon's dutch-skills writes "WiCKR : just ask me" and its torbox address twice;
    the ground truth has the one e-mail contact."""
    truth = json.loads((REAL / "truth" / "apollon" / "vendor-1.json").read_text(encoding="utf-8"))
    document = real_page("apollon", "vendor-1.html", "http://apollionih4ocqyd.onion/user.php?u_id=dutch-skills")
    assert not any(contact["kind"] == "wickr" for contact in document.page.contacts)
    (vendor,) = document.vendors
    expected = [(contact["type"], contact["value"]) for contact in truth["vendor"]["contacts"]]
    assert [(contact["kind"], contact["value"]) for contact in vendor.contacts] == expected
