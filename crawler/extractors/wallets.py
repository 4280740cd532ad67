"""Find cryptocurrency wallet addresses in page text and links, exactly.

* :func:`find_wallets` ``(text, hrefs=()) -> list[WalletHit]`` -- every
  address in ``text`` (and in the page's link targets) whose checksum
  validates, in order of appearance (text first, then hrefs).
* :class:`WalletHit` -- one occurrence: coin, network, address type, the
  canonical form, position, surrounding text and where it came from.

How it decides.  The text is split at whitespace (in C); each piece of 14
or more characters is cut into runs of ASCII letters and digits, and the
runs are sorted by shape
(``0x`` + 40 hex digits, a known bech32 human-readable part, CashAddr with or
without its prefix, base58 of an address length); each candidate is decoded
with :mod:`crawler.extractors.wallet_codecs` and reported only if its
checksum validates.  The coin is never guessed from the first character:
base58check addresses are identified by their version byte(s), segwit
addresses by their hrp, Monero addresses by their network byte.

Where the version bytes are shared by several coins the hit names the coin
whose address it most commonly is and lists the others in ``also_valid_for``:

* version 0x00 / 0x05 (``1...`` / ``3...``): ``bitcoin``, also valid for
  ``bitcoin-cash`` (legacy format) and, for 0x05, ``litecoin`` (its legacy
  P2SH version);
* testnet 0x6f / 0xc4 (``m``/``n`` / ``2``): ``bitcoin`` testnet, also
  ``bitcoin-cash``, ``litecoin`` and (0xc4) ``dogecoin`` testnets;
* ``0x`` addresses are reported as ``ethereum``; the same address is valid on
  every EVM chain, which ``also_valid_for`` says as ``("evm",)``.

EVM addresses: a mixed-case address must match its EIP-55 checksum or it is
dropped; all-lower and all-upper addresses carry no checksum, so they are
reported with ``checksummed=False`` (unless their EIP-55 form happens to be
all one case).  Every other hit has ``checksummed=True``.

Sources: ``"text"`` for the page text; ``"uri"`` for a payment URI
(``bitcoin:``, ``monero:``, ``litecoin:``, ``ethereum:`` ...) in the text or
in an href; ``"href"`` for an address inside any other link target (for
example a block-explorer URL).  For href hits ``start``/``end`` index into
that href and ``context`` is the href.

Bitcoin regtest (``bcrt1``/``bchreg:``) and other networks are not reported.
A base58check string that is not an address (a WIF private key, for one)
has the wrong length and is not reported either.

Pure functions, no I/O; cost is one split plus a decode per candidate (decodes
are cached, since crawls see the same addresses again and again).  Raises
nothing on any input text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from crawler.extractors import wallet_codecs as codecs

#: characters of surrounding text kept on each side of a hit.
CONTEXT_CHARS = 80
#: longest href examined (longer link targets are truncated, not skipped).
MAX_HREF_CHARS = 4096
#: at most this many hits per page; a page of nothing but addresses is capped.
MAX_HITS = 10_000

PAYMENT_URI_SCHEMES = frozenset(
    {
        "bitcoin",
        "bitcoincash",
        "bchtest",
        "litecoin",
        "dogecoin",
        "dash",
        "zcash",
        "monero",
        "ethereum",
        "tron",
    }
)


@dataclass(frozen=True)
class WalletHit:
    """One wallet address found on a page."""

    address: str
    normalized: str
    coin: str
    network: str
    address_type: str
    checksummed: bool
    start: int
    end: int
    context: str
    source: str
    also_valid_for: tuple[str, ...] = ()
    payment_id: str | None = None
    # Inside an element the browser does not show (set by crawler.extractors.identifiers).
    hidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists) for ``Page.wallets``."""
        data = asdict(self)
        data["also_valid_for"] = list(self.also_valid_for)
        return data


@dataclass(frozen=True)
class _Decoded:
    normalized: str
    coin: str
    network: str
    address_type: str
    checksummed: bool = True
    also_valid_for: tuple[str, ...] = ()
    payment_id: str | None = None


# version bytes -> (coin, network, address type, also valid for)
_BASE58_VERSIONS: dict[bytes, tuple[str, str, str, tuple[str, ...]]] = {
    b"\x00": ("bitcoin", "mainnet", "p2pkh", ("bitcoin-cash",)),
    b"\x05": ("bitcoin", "mainnet", "p2sh", ("bitcoin-cash", "litecoin")),
    b"\x6f": ("bitcoin", "testnet", "p2pkh", ("bitcoin-cash", "litecoin")),
    b"\xc4": ("bitcoin", "testnet", "p2sh", ("bitcoin-cash", "litecoin", "dogecoin")),
    b"\x30": ("litecoin", "mainnet", "p2pkh", ()),
    b"\x32": ("litecoin", "mainnet", "p2sh", ()),
    b"\x3a": ("litecoin", "testnet", "p2sh", ()),
    b"\x1e": ("dogecoin", "mainnet", "p2pkh", ()),
    b"\x16": ("dogecoin", "mainnet", "p2sh", ()),
    b"\x71": ("dogecoin", "testnet", "p2pkh", ()),
    b"\x4c": ("dash", "mainnet", "p2pkh", ()),
    b"\x10": ("dash", "mainnet", "p2sh", ()),
    b"\x8c": ("dash", "testnet", "p2pkh", ()),
    b"\x13": ("dash", "testnet", "p2sh", ()),
    b"\x41": ("tron", "mainnet", "p2pkh", ()),
    b"\x1c\xb8": ("zcash", "mainnet", "p2pkh", ()),
    b"\x1c\xbd": ("zcash", "mainnet", "p2sh", ()),
    b"\x1d\x25": ("zcash", "testnet", "p2pkh", ()),
    b"\x1c\xba": ("zcash", "testnet", "p2sh", ()),
}

_SEGWIT_HRPS = {
    hrp: (coin, network) for (coin, network), hrp in codecs.SEGWIT_HRPS.items()
}
_CASHADDR_NETWORKS = {prefix: network for network, prefix in codecs.CASHADDR_PREFIXES.items()}

# Candidate scan.  Every address format here is a run of at least 14 ASCII
# letters/digits (CashAddr's "prefix:" is looked up just before the run).
# Within a whitespace-separated piece, runs are found with this pattern; it
# starts with a negated class so the regex engine only tries word starts.
_RUN = re.compile(r"[^0-9A-Za-z]([0-9A-Za-z]{14,})")
_BASE58_RUN = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SEGWIT_PREFIXES = ("bc1", "tb1", "ltc1", "tltc1")
_CASHADDR_PREFIX_BEFORE = re.compile(r"(?i)(bitcoincash|bchtest):\Z")
_SCHEME_BEFORE = re.compile(r"([A-Za-z]{3,12}):/{0,2}\Z")


def _decode_base58(token: str) -> _Decoded | None:
    if len(token) in (95, 106):
        return _decode_monero(token)
    if len(token) > 36:
        return None
    try:
        body = codecs.base58check_body(token)
    except ValueError:
        return None
    # 20-byte hash after a 1-byte version, or after Zcash's 2-byte version.
    if len(body) == 21:
        version = body[:1]
    elif len(body) == 22:
        version = body[:2]
    else:
        return None
    entry = _BASE58_VERSIONS.get(version)
    if entry is None:
        return None
    coin, network, address_type, also = entry
    return _Decoded(token, coin, network, address_type, True, also)


def _decode_monero(token: str) -> _Decoded | None:
    try:
        network_byte, _spend, _view, payment_id = codecs.monero_decode(token)
    except ValueError:
        return None
    entry = codecs.MONERO_NETWORK_BYTES.get(network_byte)
    if entry is None:
        return None
    network, address_type = entry
    return _Decoded(
        token, "monero", network, address_type, True, (),
        payment_id.hex() if payment_id is not None else None,
    )


def _decode_segwit(token: str) -> _Decoded | None:
    try:
        hrp, witver, program = codecs.segwit_decode(None, token)
    except ValueError:
        return None
    coin_network = _SEGWIT_HRPS.get(hrp)
    if coin_network is None:
        return None
    if witver == 0:
        address_type = "p2wpkh" if len(program) == 20 else "p2wsh"
    elif witver == 1 and len(program) == 32:
        address_type = "p2tr"
    else:
        address_type = "witness_unknown"
    return _Decoded(token.lower(), coin_network[0], coin_network[1], address_type)


def _decode_cashaddr(token: str) -> _Decoded | None:
    if ":" in token:
        candidates = [None]
    else:
        # The checksum covers the prefix, so trying each network's prefix
        # cannot make a wrong one pass: at most one validates.
        candidates = list(_CASHADDR_NETWORKS)
    for default_prefix in candidates:
        try:
            prefix, kind, _hash = codecs.cashaddr_decode(token, default_prefix or "bitcoincash")
        except ValueError:
            continue
        network = _CASHADDR_NETWORKS.get(prefix)
        if network is None:
            return None
        payload = token.rpartition(":")[2].lower()
        return _Decoded(f"{prefix}:{payload}", "bitcoin-cash", network, f"cashaddr-{kind}")
    return None


def _decode_evm(token: str) -> _Decoded | None:
    hex_part = token[2:]
    checksum_form = codecs.eip55_checksum(hex_part)
    has_letters = not hex_part.isdigit()
    if hex_part == checksum_form[2:]:
        checksummed = has_letters
    elif hex_part in (hex_part.lower(), hex_part.upper()):
        checksummed = False
    else:
        return None  # mixed case that fails EIP-55: a typo, not an address
    return _Decoded(checksum_form, "ethereum", "mainnet", "eoa", checksummed, ("evm",))


_DECODERS = {
    "evm": _decode_evm,
    "segwit": _decode_segwit,
    "cashaddr": _decode_cashaddr,
    "base58": _decode_base58,
}


@functools.lru_cache(maxsize=16_384)
def _decode_candidate(kind: str, token: str) -> _Decoded | None:
    """Decode one candidate of ``kind``; None if it is not a valid address.

    Cached: a crawl sees the same vendor addresses on page after page, and
    decoding (bignum base58, Keccak, BCH checksums) is the costly step.
    """
    return _DECODERS[kind](token)


def clear_decode_cache() -> None:
    """Forget cached decodings (benchmarks call this so repeats measure real work)."""
    _decode_candidate.cache_clear()


def _context(text: str, start: int, end: int) -> str:
    window = text[max(0, start - CONTEXT_CHARS) : end + CONTEXT_CHARS]
    return " ".join(window.split())


def _candidates(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, token, start, end) for every alphanumeric run that could be an address.

    ``str.split`` (C speed) cuts the text at whitespace; only the few
    whitespace-separated pieces long enough to hold an address are looked at
    again, so ordinary prose costs one split.  Runs are then sorted by shape;
    the decoders decide.
    """
    candidates = []
    cursor = 0
    find = text.find
    for piece in [piece for piece in text.split() if len(piece) >= 14]:
        position = find(piece, cursor)
        cursor = position + len(piece)
        if piece.isascii() and piece.isalnum():
            runs: Iterable[tuple[str, int]] = ((piece, position),)
        else:
            runs = [
                (match.group(1), position + match.start(1) - 1)
                for match in _RUN.finditer(" " + piece)
            ]
        for token, start in runs:
            length = len(token)
            end = start + length
            first = token[0]
            if length == 42 and first == "0" and token[1] in "xX":
                if _HEX_DIGITS.issuperset(token[2:]):
                    candidates.append(("evm", token, start, end))
                continue
            if first in "bBtTlL" and token[:5].lower().startswith(_SEGWIT_PREFIXES):
                candidates.append(("segwit", token, start, end))
            if 42 <= length <= 120 and start > 0 and text[start - 1] == ":":
                prefix = _CASHADDR_PREFIX_BEFORE.search(text, max(0, start - 12), start)
                if prefix:
                    candidates.append(("cashaddr", text[prefix.start() : end], prefix.start(), end))
                    continue
            if length == 42 and first in "qpQP":
                candidates.append(("cashaddr", token, start, end))
            elif (25 <= length <= 35 or length == 95 or length == 106) and _BASE58_RUN.fullmatch(token):
                candidates.append(("base58", token, start, end))
    return candidates


def _scan(text: str, source_for: str, hits: list[WalletHit], whole_context: str | None) -> None:
    reported_end = -1
    for kind, token, start, end in _candidates(text):
        if len(hits) >= MAX_HITS:
            return
        if end == reported_end:
            continue  # the same run already decoded as another kind
        decoded = _decode_candidate(kind, token)
        if decoded is None:
            continue
        reported_end = end
        source = source_for
        if start > 0 and text[start - 1] in ":/":
            scheme = _SCHEME_BEFORE.search(text, max(0, start - 16), start)
            if scheme and scheme.group(1).lower() in PAYMENT_URI_SCHEMES:
                source = "uri"
        hits.append(
            WalletHit(
                address=token,
                normalized=decoded.normalized,
                coin=decoded.coin,
                network=decoded.network,
                address_type=decoded.address_type,
                checksummed=decoded.checksummed,
                start=start,
                end=end,
                context=whole_context if whole_context is not None else _context(text, start, end),
                source=source,
                also_valid_for=decoded.also_valid_for,
                payment_id=decoded.payment_id,
            )
        )


def find_wallets(text: str, hrefs: Iterable[str] = ()) -> list[WalletHit]:
    """Every checksum-valid wallet address in ``text`` and ``hrefs``.

    Each occurrence is a separate hit (deduplicate on ``normalized`` if you
    need distinct addresses).  An href whose scheme is a payment scheme
    (``bitcoin:...``) gives ``source="uri"``; any other href ``"href"``.
    Never raises on arbitrary text.
    """
    hits: list[WalletHit] = []
    _scan(text, "text", hits, None)
    for href in hrefs:
        href = href[:MAX_HREF_CHARS]
        scheme = href.partition(":")[0].lower() if ":" in href else ""
        source = "uri" if scheme in PAYMENT_URI_SCHEMES else "href"
        _scan(href, source, hits, " ".join(href[:2 * CONTEXT_CHARS].split()))
    return hits
