from __future__ import annotations

from pathlib import Path

import pytest

from crawler.spiders.onion import OnionSpider, parse_seeds

A = "http://" + "a" * 56 + ".onion/"
B = "http://" + "b" * 56 + ".onion/forum"


def test_seeds_from_string_list_and_file(tmp_path: Path) -> None:
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text(f"# markets\n{A}\n\n{B}  # the forum\n{A}\n")
    assert parse_seeds(f"{A},{B}") == [A, B]
    assert parse_seeds([B]) == [B]
    assert parse_seeds(None, seeds_file) == [A, B]


def test_bad_seed_names_file_and_line(tmp_path: Path) -> None:
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text(f"{A}\nftp://x.onion/\n")
    with pytest.raises(ValueError, match=r"seeds.txt:2: 'ftp://x.onion/'"):
        parse_seeds(None, seeds_file)
    with pytest.raises(ValueError, match="no seed"):
        parse_seeds("")
    with pytest.raises(ValueError, match="seeds file"):
        parse_seeds(None, tmp_path / "absent.txt")


def test_spider_stays_on_seed_hosts_unless_told() -> None:
    other = "http://" + "c" * 56 + ".onion/"
    spider = OnionSpider(seeds=[A, B])
    assert spider.crawl_scope.seed_hosts == {"a" * 56 + ".onion", "b" * 56 + ".onion"}
    assert spider.crawl_scope.refusal(B + "/x") is None and spider.crawl_scope.refusal(other) == "offsite"
    assert OnionSpider(seeds=[A], follow_offsite="true").crawl_scope.refusal(other) is None


def test_spider_binds_the_confirmed_market_hosts_and_nothing_else() -> None:
    from scrapy.utils.test import get_crawler

    from crawler.extractors.onions import v3_onion_from_pubkey
    from config.settings import load_settings

    confirmed, other = v3_onion_from_pubkey(bytes(32)), v3_onion_from_pubkey(bytes(range(32)))
    settings = load_settings(None, environ={}).replace(market_hosts=[f"nebula-market={confirmed}"])
    crawler = get_crawler(OnionSpider, {"ONIONSCOPE_SETTINGS": settings})
    spider = OnionSpider.from_crawler(crawler, seeds=[f"http://{confirmed}/"])
    assert spider.profiles.for_host(confirmed) is spider.profiles.get("nebula-market")
    assert spider.profiles.for_host(other) is None
