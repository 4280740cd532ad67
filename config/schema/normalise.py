"""The normalisers: the one stored form of a PGP fingerprint, an onion host and a coin.

The crawler, the pipelines, the query language and the exports all call these,
so a value written by one is found by the others.

Public API:

* :func:`normalise_fingerprint` (text) -> the stored form of a PGP fingerprint
  or key id: upper-case hex without spaces or ``0x``;
* :func:`normalise_onion_host` (host) -> the stored form of an onion host (lower case);
* :func:`onion_service_host` (host) -> the onion service a host name belongs
  to (``sub.x.onion`` -> ``x.onion``), or None for a name that is not an onion;
* :func:`onion_host_from_input` (text) -> the onion host a person means by a
  host, a bare name or a URL (``http://ABC.onion/x`` -> ``abc.onion``);
* :data:`COIN_TICKERS` -- the ticker of every coin name the wallet extractor gives;
* :data:`CRYPTO_TICKERS` -- every coin ticker (lower case) onionscope knows;
* :func:`normalise_coin` (coin) -> the stored form of a coin (lower case, as written);
* :func:`coin_ticker` (coin) -> the one name shown for a coin: its lower-case ticker;
* :func:`coin_aliases` (coin) -> every stored spelling of a coin (its name and ticker);
* :func:`lower_case`, :func:`upper_case` -- the plain case rules of other fields.

Coins: the index stores a coin as the code that found it names it.  The wallet
extractor names coins (``bitcoin``, ``monero``; a wallet's ``_id`` hashes that
name, see :mod:`config.schema.kinds`), prices name them by ticker (``btc``,
``xmr``).  Everything shown to a person -- facets, the query language, exports --
uses the ticker; a ``coin:`` query matches every stored spelling.  The names and
tickers are those of the one coin table, :data:`config.coins.COINS`.

Pure functions; they never raise on a string.
"""

from __future__ import annotations

import re

from config.coins import TICKER_OF_NAME, TICKERS

_SPACES = re.compile(r"\s+")
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
ONION_SUFFIX = ".onion"


def normalise_fingerprint(value: str) -> str:
    """``"abcd 1234 EF"`` or ``"0xABCD1234EF"`` -> ``"ABCD1234EF"``: fingerprints are written in groups and in either case."""
    return _SPACES.sub("", value).upper().removeprefix("0X")


def normalise_onion_host(host: str) -> str:
    """The stored form of an onion host (and the ``_id`` of its onion document): lower case."""
    return host.lower()


def onion_service_host(host: str) -> str | None:
    """``Sub.X.onion`` -> ``x.onion``: the onion service of a host name, lower case; None if it is not one."""
    host = host.lower()
    if not host.endswith(ONION_SUFFIX):
        return None
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 and labels[-2] else None


def onion_host_from_input(text: str) -> str:
    """The onion host a person means: ``http://Sub.ABC.onion:80/x`` -> ``abc.onion``, ``abc`` -> ``abc.onion``.

    Returns ``""`` for blank input.  Subdomains fold as the crawler folds
    them (:func:`onion_service_host`), so the host found is the one stored.
    """
    host = _URL_SCHEME.sub("", text.strip().lower())
    host = host.split("/", 1)[0].split(":", 1)[0]
    if host and not host.endswith(ONION_SUFFIX):
        host += ONION_SUFFIX
    return (onion_service_host(host) or host) if host else host


def lower_case(value: str) -> str:
    return value.lower()


def upper_case(value: str) -> str:
    return value.upper()


#: the ticker of every coin name the wallet extractor gives; prices use tickers, wallets use names
#: (the one coin table is :data:`config.coins.COINS`).
COIN_TICKERS: dict[str, str] = dict(TICKER_OF_NAME)
#: every coin ticker: those above, and tokens that have no address format of their own.
CRYPTO_TICKERS: frozenset[str] = TICKERS


def normalise_coin(coin: str) -> str:
    """The stored form of a coin: lower case, a name staying a name (a wallet's ``_id`` hashes it)."""
    return coin.lower()


def coin_ticker(coin: str | None) -> str | None:
    """The lower-case ticker of ``coin`` (``"bitcoin"`` or ``"BTC"`` -> ``"btc"``); None for no coin.

    A name that is not known comes back stripped and lower-cased as it is.
    """
    if not coin:
        return None
    value = str(coin).strip().lower()
    return COIN_TICKERS.get(value, value) or None


def coin_aliases(coin_or_ticker: str) -> tuple[str, ...]:
    """Every spelling of a coin: ``"xmr"`` or ``"monero"`` -> ``("monero", "xmr")``.

    An unknown value comes back alone (lower-cased), so a search for it simply finds nothing.
    """
    value = coin_or_ticker.strip().lower()
    names = {name for name, ticker in COIN_TICKERS.items() if value in (name, ticker)}
    return tuple(sorted({value} | names | {COIN_TICKERS[name] for name in names}))
