"""Vendor profile pages without a profile: is this a vendor's page, and what does it say.

Public API:

* :func:`read_vendor_profile` ``(tree, page_url) -> VendorProfile | None``:
  the vendor's name, rating, sales count and join date when the page is a
  vendor (or seller) profile; None otherwise.
* :class:`VendorProfile` -- those values, in the keys the item builder reads
  (``name``, ``rating``, ``sales``, ``joined``), plus the evidence.
* :func:`labelled_chunks` -- ``label -> value`` pairs from a list of text
  chunks ("Member since :" then "Dec 05, 2019"), shared with listing pages.

How: the page's visible text chunks are read as label/value pairs ("Label:
value" in one chunk, a label chunk followed by its value chunk, and an
element's ``title`` attribute as the label of its own text -- markets print
icons and counters that way; a label ending in "since" needs no colon: "Member
since 2021-03-04", "На сайте с 01.05.2020").  A page is a vendor profile when it has a
join-date label or an armored PGP public key (in its text or a read-only
``<textarea>``), and at least one vendor word
(sales, feedback, vendor/trust level, store, listings) -- a forum member page
has a join date and maybe a key but no sales or feedback, so it is not one.  The name is the candidate most pages
agree on: a "Username"/"User profile"/"Vendor" value, short headings,
"Listings from X", "About X", "Store of X", "X's profile".

PGP keys and contacts come from the page's identifiers (see
:mod:`crawler.extractors.identifiers`); this module does not read them again.
Cost: linear in the page's text chunks (at most ``MAX_CHUNKS``).  Never raises.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from crawler.extractors.market_profiles import NormaliseContext, apply_normalisers
from crawler.extractors.page_tree import PageTree
from crawler.extractors.record_mining import clean_vendor_name

MAX_CHUNKS = 6_000
MAX_NAME_CHARS = 60

# Label (case-folded, without the colon) -> field.  English, Russian, German.
VENDOR_LABELS: dict[str, str] = {
    **{label: "joined" for label in (
        "member since", "vendor since", "seller since", "registered since", "joined", "join date", "joined on", "registered", "registration date", "registered on",
        "since", "дата регистрации", "на сайте с", "с нами с", "зарегистрирован", "регистрация",
        "mitglied seit", "registriert", "registriert seit", "beigetreten")},
    **{label: "sales" for label in (
        "sales", "total sales", "sold", "successful transactions", "transactions", "completed orders",
        "deals", "orders completed", "продажи", "продаж", "сделок", "сделки", "verkäufe", "verkauft")},
    **{label: "rating" for label in (
        "rating", "vendor rating", "positive feedback", "positive", "positive rating", "feedback", "feedback score", "score",
        "average rating", "avg rating", "avg. rating", "market positive feedback", "рейтинг", "оценка", "отзывы", "bewertung", "positive bewertungen")},
    # "Shop"/"Store"/"Name" alone label menus and forms as often as a vendor's name.
    **{label: "name" for label in (
        "username", "user name", "user profile", "vendor", "vendor name", "seller", "seller name",
        "пользователь", "продавец", "имя пользователя", "verkäufer", "benutzername", "händler")},
}
# Labels whose value may follow without a colon: they end in "since" ("Member since 2021").
_SINCE_LABELS = ("member since", "на сайте с", "с нами с", "mitglied seit", "registriert seit", "registered since",
                 "vendor since", "seller since")
# Labels that only a vendor (not a forum member) page carries.
_VENDOR_WORDS = re.compile(
    r"(?i)\b(?:sales|sold|transactions|feedback|vendor|seller|store|shop|listings|trust level|disputes|orders|"
    r"продаж|сделк|отзыв|продав|магазин|verkäuf|bewertung|händler)")
_NAME_PATTERNS = (
    re.compile(r"(?i)^(?:listings|items|products|offers) (?:from|by|of) (.{1,60})$"),
    re.compile(r"(?i)^(?:about|store of|shop of|profile of|vendor|seller|user profile)\s*[:\-]?\s+(.{1,60})$"),
    re.compile(r"(?i)^(.{1,60}?)(?:'s|’s) (?:profile|store|shop|listings)$"),
    re.compile(r"(?i)^(?:магазин|продавец|профиль|verkäufer|shop)\s*[:\-]?\s+(.{1,60})$"),
    # The profile's message form names its owner.
    re.compile(r"(?i)^(?:send (?:a |an )?(?:private |direct )?(?:message|pm) to|message to|"
               r"написать|сообщение для|nachricht an) (.{1,60})$"),
)
# Separators of a <title>'s parts ("vendorname - Market").
_TITLE_PARTS = re.compile(r" (?:[-|–—·:]|::) ")  # the title text is collapsed: single spaces
_GENERIC_HEADINGS = frozenset({
    "user profile", "profile", "vendor profile", "seller profile", "profile actions", "about", "about me",
    "feedback", "listings", "store", "shop", "contact vendor", "send message", "pgp", "public pgp key",
    "terms and conditions", "seller feedback ratings", "buyer statistics", "browse categories", "categories",
    "login", "register", "home", "menu", "search", "профиль", "отзывы", "товары",
})
# A count with its word, in brackets beside a name: "[0 deals]", "(1,204 sales)", "57 сделок".
# Anchored and bounded: one try per chunk.
SALES_COUNT = re.compile(
    r"(?i)^[\[(]?\s?(\d[\d,. ]{0,12}?)\s?(?:deals|sales|transactions|trades|orders|completed orders|"
    r"сделок|сделки|сделка|продаж|продажи|verkäufe)\s?[\])]?$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_PGP_ARMOR = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


@dataclass
class VendorProfile:
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)


def _label_key(head: str) -> str:
    """"Market Positive feedback(last 12 months):" -> "market positive feedback"."""
    key = head.strip().rstrip(":：").rstrip()
    if key.endswith(")"):
        start = key.rfind("(")
        if 0 < start and len(key) - start <= 42:
            key = key[:start]
    return key.rstrip(":： ").strip().casefold()


def _known_label(head: str, labels: dict[str, str]) -> str | None:
    key = _label_key(head)
    if key in labels:
        return labels[key]
    if " / " in key:  # bilingual labels: "Продавец / Merchant"
        for part in key.split(" / ")[:3]:
            if part.strip() in labels:
                return labels[part.strip()]
    return None


def label_of(text: str, labels: dict[str, str]) -> tuple[str, str] | None:
    """(field, value after the label) when ``text`` starts with a known label; value may be ''.

    Labels are compared case-folded, without a trailing colon or bracketed note
    ("Market Positive feedback(last 12 months):"); a bilingual label
    ("Цена / Cost") matches on either half.
    """
    if len(text) > 120:
        return None
    head, colon, tail = text.partition(":")
    if not colon:
        head, colon, tail = text.partition("：")
    if colon:
        name = _known_label(head, labels)
        if name is not None:
            return name, tail.strip()
    name = _known_label(text, labels)
    if name is not None:
        return name, ""
    # "Member since 2021-03-04", "На сайте с 01.05.2020": a label ending in "since" needs no colon.
    folded = text.casefold()
    for label in _SINCE_LABELS:
        if folded.startswith(label + " ") and text[len(label) + 1:].lstrip()[:1].isdigit() and label in labels:
            return labels[label], text[len(label) + 1:].strip()
    return None


def in_running_text(tree: PageTree, chunks: list[tuple[int, str]], position: int) -> bool:
    """True when chunk ``position`` is a bare word inside a sentence: its element's parent prints
    text just before it and goes on in lower case just after it ("'x' is a <strong>Vendor</strong>
    account."), so it labels nothing.  "<b>Vendor</b> <a>x</a>" stays a label."""
    owner, text = chunks[position]
    if position == 0 or position + 1 >= len(chunks) or ":" in text or "：" in text:
        return False
    parent = tree.parent[owner]
    before_owner, before = chunks[position - 1]
    after_owner, after = chunks[position + 1]
    return (before_owner == parent and after_owner == parent and after[:1].islower()
            and not before.rstrip().endswith((":", "：", "|", "-")))


def labelled_chunks(tree: PageTree, chunks: list[tuple[int, str]], labels: dict[str, str]) -> dict[str, list[str]]:
    """Field -> the values found after its labels, in page order."""
    found: dict[str, list[str]] = {}
    for position, (owner, text) in enumerate(chunks):
        # A menu link is no label; neither is a table's column header, nor a word in a sentence.
        hit = (label_of(text, labels) if tree.link[owner] < 0 and not tree.is_column_header(owner)
               and not in_running_text(tree, chunks, position) else None)
        if hit is not None:
            name, value = hit
            if not value and position + 1 < len(chunks):
                value = chunks[position + 1][1]
                if label_of(value, labels) is not None:
                    value = ""
            if value:
                found.setdefault(name, []).append(value[:200])
        title = tree.elements[owner].get("title")
        if title and len(title) <= 80:
            hit = label_of(title, labels)
            if hit is not None and hit[0] != "name":
                found.setdefault(hit[0], []).append(text[:200])
    return found


def _clean_name(text: str) -> str | None:
    name = clean_vendor_name(text)
    if not name or len(name) > MAX_NAME_CHARS or len(name.split()) > 3:
        return None
    if name.casefold() in _GENERIC_HEADINGS or not any(character.isalnum() for character in name):
        return None
    return name


def _name_candidates(tree: PageTree, chunks: list[tuple[int, str]], labelled: dict[str, list[str]],
                     page_title: str) -> Counter[str]:
    votes: Counter[str] = Counter()
    spelling: dict[str, str] = {}

    def vote(text: str | None, weight: int) -> None:
        name = _clean_name(text or "")
        if name:
            key = name.casefold()
            spelling.setdefault(key, name)
            # The page's <title> names whose page it is.
            votes[key] += weight + (2 if page_title and key in page_title else 0)

    for value in labelled.get("name", [])[:3]:
        vote(value, 3)
    for owner, text in chunks:
        patterned = False
        for pattern in _NAME_PATTERNS:
            match = pattern.match(text)
            if match:
                vote(match.group(1), 2)
                patterned = True
                break
        tag = tree.tag[owner]
        if not patterned and (tag in ("h1", "h2", "h3") or "user" in (tree.elements[owner].get("class") or "").casefold()):
            vote(text, 2 if tag == "h1" else 1)
    # A part of the <title> printed on the page by itself, outside links (a name in bold), once:
    # the <title>'s own weight only, and counted last, so that on a tie a heading's name wins
    # over a site name that the <title> and a plain-text banner both print.
    parts = {part.strip() for part in _TITLE_PARTS.split(page_title)[:4] if part.strip()} if page_title else set()
    for owner, text in chunks:
        if parts and len(text) <= MAX_NAME_CHARS and tree.link[owner] < 0 and text.casefold() in parts:
            parts.discard(text.casefold())
            vote(text, 0)
    return Counter({spelling[key]: count for key, count in votes.items()})


def _first_value(values: Iterable[str], normaliser: str, context: NormaliseContext) -> Any:
    for value in values:
        result = apply_normalisers(value, (normaliser,), context)
        if result is not None:
            return result
    return None


def _rating(values: list[str]) -> float | None:
    for value in values:
        match = _NUMBER.search(value)
        if match:
            number = float(match.group().replace(",", "."))
            if number <= 100:
                return number
    return None


def _key_in_textarea(tree: PageTree, limit: int = 50) -> bool:
    """An armored public key in a read-only text box (which the page tree does not read as text)."""
    boxes = 0
    for index, tag in enumerate(tree.tag):
        if tag == "textarea":
            if _PGP_ARMOR in (tree.elements[index].text or "")[:100_000]:
                return True
            boxes += 1
            if boxes >= limit:
                break
    return False


def read_vendor_profile(tree: PageTree, page_url: str, chunks: list[tuple[int, str]] | None = None,
                        page_title: str = "", countries: Mapping[str, str] | None = None) -> VendorProfile | None:
    """The vendor profile on the page, or None when the page is not one (see the module docstring)."""
    if chunks is None:
        chunks = list(tree.text_chunks(0, limit=200_000))[:MAX_CHUNKS]
    labelled = labelled_chunks(tree, chunks, VENDOR_LABELS)
    # A join date or a public key says "someone's page"; the vendor words below say whose.
    if "joined" not in labelled and not any(_PGP_ARMOR in text for _, text in chunks) and not _key_in_textarea(tree):
        return None
    label_texts = " ".join(text for _, text in chunks if len(text) <= 60)
    if not (_VENDOR_WORDS.search(label_texts) or "sales" in labelled):
        return None
    candidates = _name_candidates(tree, chunks, labelled, page_title.casefold())
    if not candidates:
        return None
    name = candidates.most_common(1)[0][0]
    context = NormaliseContext(page_url=page_url, default_currency=None, countries=countries)
    values: dict[str, Any] = {"name": name}
    joined = _first_value(labelled.get("joined", []), "date", context)
    if joined is not None:
        values["joined"] = joined
    sales = _first_value(labelled.get("sales", []), "int", context)
    if sales is None:
        counted = next((match for _, text in chunks if len(text) <= 40 and (match := SALES_COUNT.match(text))), None)
        if counted is not None:
            sales = _first_value([counted.group(1)], "int", context)
    if sales is not None:
        values["sales"] = sales
    rating = _rating(labelled.get("rating", []))
    if rating is None:
        for owner, text in chunks:
            if "rating" in (tree.elements[owner].get("class") or "").casefold() and not SALES_COUNT.match(text):
                rating = _rating([text])
                if rating is not None:
                    break
    if rating is not None:
        values["rating"] = rating
    return VendorProfile(name=name, values=values, evidence=sorted(labelled))
