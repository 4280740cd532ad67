"""The coin vocabulary: one table of every cryptocurrency onionscope knows, and the names derived from it.

Wallets are stored under the name the wallet extractor gives a coin (``bitcoin``,
``monero``), prices and listing coins under its ticker (``btc``, ``xmr``); everything
shown to a person -- facets on every kind, the query language, the unified search,
exports -- speaks tickers.  All of those names come from :data:`COINS`, so adding a
coin is one row here.

Public API:

* :class:`Coin`, :data:`COINS` -- the table: name, lower-case ticker, label, the words
  and symbols a price may write it with, and whether it has an address format of its own;
* :data:`TICKER_OF_NAME` -- wallet coin name -> ticker (coins with an address format);
* :data:`TICKERS` -- every ticker;
* :data:`PRICE_WORDS`, :data:`PRICE_SYMBOLS` -- price word / symbol -> upper-case ticker;
* :data:`LABELS` -- ticker -> the label shown beside it.

Data only; importing it reads no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Coin:
    """One coin: ``name`` is the wallet extractor's (stored on wallets), ``ticker`` the shown one (lower case)."""

    name: str
    ticker: str
    label: str
    price_words: tuple[str, ...] = ()
    price_symbols: tuple[str, ...] = ()
    has_address: bool = True


COINS: tuple[Coin, ...] = (
    Coin("bitcoin", "btc", "Bitcoin", ("btc", "xbt", "bitcoin", "bitcoins"), ("₿", "Ƀ")),
    Coin("litecoin", "ltc", "Litecoin", ("ltc", "litecoin")),
    Coin("dogecoin", "doge", "Dogecoin", ("doge",)),
    Coin("dash", "dash", "Dash", ("dash",)),
    Coin("bitcoin-cash", "bch", "Bitcoin Cash", ("bch",)),
    Coin("zcash", "zec", "Zcash", ("zec",)),
    Coin("ethereum", "eth", "Ethereum", ("eth", "ether", "ethereum"), ("Ξ",)),
    Coin("tron", "trx", "TRON", ("trx",)),
    Coin("monero", "xmr", "Monero", ("xmr", "monero"), ("ɱ",)),
    # Tokens: priced in, but with no address format of their own (they live on ethereum or tron).
    Coin("tether", "usdt", "Tether", ("usdt", "tether"), has_address=False),
    Coin("usd-coin", "usdc", "USD Coin", ("usdc",), has_address=False),
)

TICKER_OF_NAME: Mapping[str, str] = MappingProxyType({coin.name: coin.ticker for coin in COINS if coin.has_address})
TICKERS: frozenset[str] = frozenset(coin.ticker for coin in COINS)
PRICE_WORDS: Mapping[str, str] = MappingProxyType(
    {word: coin.ticker.upper() for coin in COINS for word in coin.price_words})
PRICE_SYMBOLS: Mapping[str, str] = MappingProxyType(
    {symbol: coin.ticker.upper() for coin in COINS for symbol in coin.price_symbols})
LABELS: Mapping[str, str] = MappingProxyType({coin.ticker: coin.label for coin in COINS})
