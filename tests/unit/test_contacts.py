"""Unit tests for crawler.extractors.contacts."""

from __future__ import annotations

import pytest

from crawler.extractors.contacts import find_contacts, find_emails


def emails(text: str, hrefs=()) -> list[str]:
    return [hit.address for hit in find_emails(text, hrefs)]


def test_plain_emails_are_found_lower_cased_with_positions():
    text = "Contact Support@Market-One.org or vendor.bob+drugs@mail2tor.onion today."
    hits = find_emails(text)
    assert [hit.address for hit in hits] == ["support@market-one.org", "vendor.bob+drugs@mail2tor.onion"]
    assert text[hits[0].start : hits[0].end] == "Support@Market-One.org"
    assert not any(hit.obfuscated for hit in hits)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("mail: bob [at] protonmail [dot] com", "bob@protonmail.com"),
        ("mail: bob(at)protonmail(dot)com", "bob@protonmail.com"),
        ("mail: bob {at} cock.li", "bob@cock.li"),
        ("mail: BOB [AT] Secure [DOT] Example [DOT] org", "bob@secure.example.org"),
    ],
)
def test_bracketed_obfuscations_are_decoded_and_flagged(text, expected):
    (hit,) = find_emails(text)
    assert hit.address == expected
    assert hit.obfuscated


@pytest.mark.parametrize(
    "text",
    [
        "meet me at home dot com",  # bare "at"/"dot" is prose, not an address
        "price 5@10 units",
        "user@localhost",
        "@@@@ a@b",
        "name@domain.c",  # one-letter TLD
        "x" * 70 + "@example.org",  # local part over 64 characters
    ],
)
def test_non_addresses_are_not_reported(text):
    assert emails(text) == []


def test_mailto_href_counts_as_href():
    (hit,) = find_emails("", ["mailto:Orders@Example.org?subject=hi"])
    assert (hit.address, hit.source) == ("orders@example.org", "href")


def test_labelled_jabber_id_is_xmpp_not_email():
    text = "Jabber: dealer@jabber.calyxinstitute.org | email: dealer@proton.me | xmpp:bob@xmpp.jp"
    contacts = find_contacts(text)
    assert [(hit.kind, hit.value) for hit in contacts] == [
        ("xmpp", "dealer@jabber.calyxinstitute.org"),
        ("xmpp", "bob@xmpp.jp"),
    ]
    assert emails(text) == ["dealer@proton.me"]


def test_telegram_links_handles_and_invites():
    text = (
        "Channel: https://t.me/DrugMarket_Official, backup telegram.me/market_news2 "
        "invite t.me/+AbCdEfGhIjKl and t.me/joinchat/AAAAAEdkZ0123456 "
        "Telegram: @Vendor_Bob  tg://resolve?domain=vendorbob2"
    )
    found = [(hit.kind, hit.value) for hit in find_contacts(text)]
    assert found == [
        ("telegram", "drugmarket_official"),
        ("telegram", "market_news2"),
        ("telegram-invite", "+AbCdEfGhIjKl"),
        ("telegram-invite", "joinchat/AAAAAEdkZ0123456"),
        ("telegram", "vendor_bob"),
        ("telegram", "vendorbob2"),
    ]


def test_bare_at_handles_and_short_names_are_not_telegram():
    assert find_contacts("follow @vendor_bob on twitter; t.me/abc") == []


def test_contacts_in_hrefs_are_tagged_href():
    (hit,) = find_contacts("", ["https://t.me/some_channel"])
    assert (hit.kind, hit.value, hit.source) == ("telegram", "some_channel", "href")


def test_xmpp_uri_in_an_href_is_xmpp_and_not_email():
    hrefs = ["xmpp:Vendor@Jabber.Example.org?message"]
    (hit,) = find_contacts("", hrefs)
    assert (hit.kind, hit.value, hit.source) == ("xmpp", "vendor@jabber.example.org", "href")
    assert find_emails("", hrefs) == []


# --- linear-time scan ------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from crawler.extractors.contacts import _EMAIL, _plain_emails  # noqa: E402

_EMAILISH = st.text(alphabet="ab9.-_+@ :x", max_size=120)


@settings(max_examples=400)
@given(_EMAILISH, st.booleans())
def test_the_scan_around_each_at_sign_finds_what_the_pattern_finds(text: str, sparse: bool) -> None:
    """The per-"@" scan (few "@") and the one-pass scan (many) agree with ``finditer``."""
    if sparse:
        text = text + " " * (40 * text.count("@"))
    expected = [match.span() for match in _EMAIL.finditer(text)]
    assert [match.span() for match in _plain_emails(text)] == expected


def test_an_address_right_after_many_at_signs_is_found():
    assert emails("@" * 5000 + " bob@example.org") == ["bob@example.org"]
    assert emails("a@" * 5000 + " bob@example.org") == ["bob@example.org"]


def test_contacts_stop_at_max_hits_in_order():
    from crawler.extractors.contacts import MAX_HITS

    text = "".join(f"tg @handle{i:05d} t.me/chan{i:05d}x " for i in range(MAX_HITS))
    hits = find_contacts(text)
    assert len(hits) == MAX_HITS
    assert [hit.start for hit in hits] == sorted(hit.start for hit in hits)
    assert hits[0].value == "handle00000" and hits[1].value == "chan00000x"


@pytest.mark.parametrize("label", ["JABBER:", "Jabber ID", "xmpp =", "JıD:", "jabber addreſſ:"])
def test_xmpp_labels_in_any_case_are_still_seen(label):
    (hit,) = find_contacts(f"{label} bob@example.org")
    assert hit.kind == "xmpp"
    assert emails(f"{label} bob@example.org") == []


# --- obfuscated addresses and messenger ids ------------------------------------------------------


def contacts(text: str, hrefs=()) -> list[tuple[str, str, bool]]:
    return [(hit.kind, hit.value, hit.obfuscated) for hit in find_contacts(text, hrefs)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("write to darkbiz @ protonmail.com", "darkbiz@protonmail.com"),
        ("write to darkbiz@ protonmail.com", "darkbiz@protonmail.com"),
        ("mail: name (at) domain.com", "name@domain.com"),
        ("mail: name [at] domain dot com", "name@domain.com"),
        ("mail: name [at] mail dot co dot uk", "name@mail.co.uk"),
        ("mail: name @ domain [dot] org", "name@domain.org"),
    ],
)
def test_spaced_at_and_word_dots_are_decoded_and_flagged(text, expected):
    (hit,) = find_emails(text)
    assert (hit.address, hit.obfuscated) == (expected, True)
    assert text.endswith(hit.raw)


@pytest.mark.parametrize(
    "prose",
    [
        "find us @ dread.forum",  # words that prose puts before a spaced "@"
        "ping me @ example.org",
        "price @ 5 usd",
        "meet me at home dot com",  # bare "at" is still prose
    ],
)
def test_prose_around_a_spaced_at_is_not_an_address(prose):
    # Beside a real obfuscated address, which alone is found.
    assert emails(f"{prose}. Orders: shop (at) cock.li") == ["shop@cock.li"]


@pytest.mark.parametrize(
    "text",
    ["Jabber: darkbiz @ xmpp.jp", "jabber - darkbiz (at) xmpp (dot) jp", "XMPP: darkbiz [at] xmpp dot jp"],
)
def test_labelled_obfuscated_jabber_id_is_xmpp_and_not_email(text):
    assert contacts(text) == [("xmpp", "darkbiz@xmpp.jp", True)]
    assert find_emails(text) == []


def tox_id(seed: bytes) -> str:
    """A Tox id written out from its definition: key (32 bytes), nospam (4), XOR checksum (2)."""
    import hashlib

    body = hashlib.sha256(seed).digest() + b"\x0a\x0b\x0c\x0d"
    checksum = bytearray(2)
    for index, byte in enumerate(body):
        checksum[index % 2] ^= byte
    return (body + bytes(checksum)).hex().upper()


SESSION_ID = "05" + "3f9e" * 16
TOX_ID = tox_id(b"vendor")


@pytest.mark.parametrize(
    "text,expected",
    [
        (f"Session ID: {SESSION_ID}", ("session", SESSION_ID)),
        (f"session messenger - {SESSION_ID.upper()}", ("session", SESSION_ID)),
        (f"Tox: {TOX_ID}", ("tox", TOX_ID.lower())),
        (f"qTox ID = {TOX_ID.lower()}", ("tox", TOX_ID.lower())),
        ("Threema: ECHOECHO", ("threema", "ECHOECHO")),
        ("threema id *THREEMA", ("threema", "*THREEMA")),
        ("Wickr: Dealer_Bob99", ("wickr", "dealer_bob99")),
        ("wickr me - dealer.bob.", ("wickr", "dealer.bob")),
        ("WickrMe: @joe-smith, Jabber below", ("wickr", "joe-smith")),
    ],
)
def test_messenger_ids_next_to_their_labels(text, expected):
    assert contacts(text) == [(*expected, False)]


@pytest.mark.parametrize(
    "text",
    [
        SESSION_ID,  # no label
        f"Session ID: {SESSION_ID[:-1]}",  # 65 characters
        f"Session ID: 06{SESSION_ID[2:]}",  # not 05
        f"Tox: {TOX_ID[:-1]}{'0' if TOX_ID[-1] != '0' else '1'}",  # checksum broken
        "Threema: echoecho",  # lower case
        "Threema: ECHOECHO9",  # 9 characters
        "WiCKR : just ask me",  # apollon's vendor-1: no username
        "Wickr: available on request",
        "Wickr: bob",  # under 5 characters
        "wickr: bob.smith@mail.com",  # an e-mail address
    ],
)
def test_messenger_shapes_without_their_label_or_rules_are_not_ids(text):
    # Beside a real labelled id, which alone is found.
    assert contacts(f"{text} | Threema: ABCD2345") == [("threema", "ABCD2345", False)]
