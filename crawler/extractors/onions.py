"""Find onion service addresses in page text and links, validated.

* :func:`find_onions` ``(text, hrefs=()) -> list[OnionHit]`` -- every v3
  onion address whose checksum and version validate, and every legacy v2
  address (flagged ``legacy=True, valid=False``), in order of appearance:
  first the text's, then the hrefs'.
* :func:`is_valid_v3_onion` ``(host) -> bool`` -- check one host name.
* :class:`OnionHit` -- one occurrence.

A v3 address is 56 base32 characters encoding ``pubkey (32) || checksum (2)
|| version (1)`` where ``checksum = SHA3-256(".onion checksum" || pubkey ||
version)[:2]`` and ``version = 3`` (Tor's rend-spec-v3).  A 56-character
label that fails either check is not reported.  v2 addresses (16
characters) were retired by Tor in 2021; they are recognised so an analyst
sees them, but are never valid or reachable.

Matching is case-insensitive; ``host`` is lower-case ``<label>.onion``
(subdomains dropped).  Never raises on arbitrary text.

Obfuscated forms in text are read too and flagged ``obfuscated=True``: the
dot written as a word or bracketed (``xyz dot onion``, ``xyz[.]onion``,
``xyz (dot) onion``, ``xyz{.}onion``, ``xyz<dot>onion``), spaced (``xyz
.onion``, ``xyz . onion``, ``xyz. onion``), or a look-alike full stop
(``。``, ``．``, ``｡``, ``․``).  The label itself must be whole (56 or 16
base32 characters), a v3 label must still validate, and a v2 label before a
spaced full stop must hold a digit, so prose ("... responsibilities. Onion
services") is not read as an address.  The scan is linear: one pass of a
pattern whose every repetition is bounded.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable

CONTEXT_CHARS = 80
MAX_HREF_CHARS = 4096
MAX_HITS = 10_000

# Found by their ".onion" suffix (a fast literal-like scan); the label before
# it is then checked in Python.
_ONION_SUFFIX = re.compile(r"[.][oO][nN][iI][oO][nN](?![A-Za-z0-9-])")
_V3_LABEL = re.compile(r"[A-Za-z2-7]{56}")
_V2_LABEL = re.compile(r"[A-Za-z2-7]{16}")
_LABEL_CHAR = re.compile(r"[A-Za-z0-9]")
# An obfuscated dot between a whole label and "onion" (case-insensitive words, no
# IGNORECASE: it would let [a-z] match the Kelvin sign and the long s).
_DOT_WORD = r"[dD][oO][tT]"
_DOT_INSIDE = r"\s?(?:\.|" + _DOT_WORD + r")\s?"
_OBFUSCATED_DOT = (
    r"(?:\s{0,3}(?:\[" + _DOT_INSIDE + r"\]|\(" + _DOT_INSIDE + r"\)|\{" + _DOT_INSIDE + r"\}|<" + _DOT_INSIDE + r">"
    r"|[\u3002\uff0e\uff61\u2024])\s{0,3}"  # bracketed dots, look-alike full stops
    r"|\s{1,3}" + _DOT_WORD + r"\s{1,3}"  # " dot "
    r"|\s{1,3}\.\s{0,3}|\.\s{1,3})"  # a spaced "."
)
_OBFUSCATED_ONION = re.compile(
    r"(?<![A-Za-z0-9])(?P<label>[A-Za-z2-7]{56}|[A-Za-z2-7]{16})" + _OBFUSCATED_DOT
    + r"[oO][nN][iI][oO][nN](?![A-Za-z0-9-])"
)


@dataclass(frozen=True)
class OnionHit:
    """One onion address found on a page."""

    address: str
    host: str
    version: int
    valid: bool
    legacy: bool
    start: int
    end: int
    context: str
    source: str
    obfuscated: bool = False
    # Inside an element the browser does not show (set by crawler.extractors.identifiers).
    hidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_valid_v3_onion(host: str) -> bool:
    """True if ``host`` (with or without ``.onion``) is a v3 address whose checksum validates."""
    label = host.lower().removesuffix(".onion").rsplit(".", 1)[-1]
    if len(label) != 56:
        return False
    try:
        raw = base64.b32decode(label.upper())
    except (ValueError, base64.binascii.Error):
        return False
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34:]
    if version != b"\x03":
        return False
    expected = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2]
    return checksum == expected


def v3_onion_from_pubkey(pubkey: bytes) -> str:
    """The ``<56 chars>.onion`` host of a 32-byte ed25519 public key (for tests and demo data)."""
    if len(pubkey) != 32:
        raise ValueError("an onion service public key is 32 bytes")
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2]
    return base64.b32encode(pubkey + checksum + version).decode("ascii").lower() + ".onion"


def _labels(text: str):
    """Yield (label, start, end) for each 56- or 16-character label before ".onion"."""
    for match in _ONION_SUFFIX.finditer(text):
        suffix_start, end = match.span()
        for length, pattern in ((56, _V3_LABEL), (16, _V2_LABEL)):
            start = suffix_start - length
            if start < 0 or not pattern.fullmatch(text, start, suffix_start):
                continue
            if start > 0 and _LABEL_CHAR.match(text, start - 1):
                continue
            yield text[start:suffix_start].lower(), start, end
            break


def _obfuscated_labels(text: str):
    """Yield (label, start, end) for each whole label before an obfuscated ".onion".

    A spaced full stop is how prose ends a sentence ("... responsibilities. Onion
    services ..."), so a 16-character label before one must hold a digit, as
    all but 4% of v2 addresses do; v3 labels are checked by their checksum.
    """
    for match in _OBFUSCATED_ONION.finditer(text):
        label = match.group("label")
        if len(label) == 16 and not any(character.isdigit() for character in label):
            if text[match.end("label") : match.end() - len("onion")].strip() == ".":
                continue
        yield label.lower(), match.start(), match.end()


def _scan(text: str, source: str, hits: list[OnionHit], fixed_context: str | None, obfuscated: bool = False) -> None:
    for label, start, end in (_obfuscated_labels(text) if obfuscated else _labels(text)):
        if len(hits) >= MAX_HITS:
            return
        if len(label) == 56:
            if not is_valid_v3_onion(label):
                continue
            version, valid, legacy = 3, True, False
        else:
            version, valid, legacy = 2, False, True
        if fixed_context is None:
            window = text[max(0, start - CONTEXT_CHARS) : end + CONTEXT_CHARS]
            context = " ".join(window.split())
        else:
            context = fixed_context
        hits.append(
            OnionHit(
                address=text[start:end],
                host=label + ".onion",
                version=version,
                valid=valid,
                legacy=legacy,
                start=start,
                end=end,
                context=context,
                source=source,
                obfuscated=obfuscated,
            )
        )


def find_onions(text: str, hrefs: Iterable[str] = ()) -> list[OnionHit]:
    """Every v3 onion address (validated) and legacy v2 address (flagged) in text and hrefs.

    Text hits have ``source="text"``; hits inside link targets ``"href"``
    (positions index into that href, and the context is the href).
    Obfuscated addresses (text only) have ``obfuscated=True``.
    """
    hits: list[OnionHit] = []
    _scan(text, "text", hits, None)
    if _may_be_obfuscated(text):
        _scan(text, "text", hits, None, obfuscated=True)
        hits.sort(key=lambda hit: hit.start)
    for href in hrefs:
        href = href[:MAX_HREF_CHARS]
        _scan(href, "href", hits, " ".join(href[: 2 * CONTEXT_CHARS].split()))
    return hits


def _may_be_obfuscated(text: str) -> bool:
    """False when no obfuscated address can be in ``text`` (it never says "onion")."""
    return "onion" in text.lower()
