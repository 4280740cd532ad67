"""config.coins: the one coin table, and every coin vocabulary of the project drawn from it."""

from __future__ import annotations

from config import coins
from config.schema import COIN_TICKERS, CRYPTO_TICKERS, FACETS, coin_aliases, coin_ticker


def test_every_wallet_name_and_ticker_is_one_row_of_the_table():
    assert COIN_TICKERS == {coin.name: coin.ticker for coin in coins.COINS if coin.has_address}
    assert CRYPTO_TICKERS == {coin.ticker for coin in coins.COINS}
    for coin in coins.COINS:
        assert coin.ticker == coin.ticker.lower() and coin_ticker(coin.ticker.upper()) == coin.ticker
        if coin.has_address:
            assert coin_ticker(coin.name) == coin.ticker
            assert set(coin_aliases(coin.ticker)) == {coin.name, coin.ticker}


def test_the_wallet_extractor_names_only_coins_of_the_table():
    from crawler.extractors.wallet_codecs import ADDRESS_KINDS

    assert set(ADDRESS_KINDS) == set(coins.TICKER_OF_NAME)


def test_prices_read_every_coin_of_the_table_and_facets_show_its_ticker():
    from crawler.extractors.prices import normalise_currency

    for coin in coins.COINS:
        for word in coin.price_words:
            assert normalise_currency(word) == coin.ticker.upper(), word
        for symbol in coin.price_symbols:
            assert normalise_currency(symbol) == coin.ticker.upper(), symbol
    show = FACETS["coin"].show
    assert {show(coin.name) for coin in coins.COINS if coin.has_address} <= set(coins.LABELS)


def test_icon_names_of_coins_are_the_wallet_names():
    from crawler.extractors import page_tree

    for name, ticker in coins.TICKER_OF_NAME.items():
        assert page_tree._ICON_CODES[name] == ticker.upper()
