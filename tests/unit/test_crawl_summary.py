from __future__ import annotations

import pytest

from crawler.extractors.onions import v3_onion_from_pubkey
from crawler.job import create_crawl_job
from onionscope.commands.crawl import format_summary, run_crawl, summarize
from config.errors import UserError
from config.settings import load_settings


def test_summary_adds_up_per_kind_counters() -> None:
    stats = {
        "onionscope/pages": 7,
        "elasticsearch/indexed/pages": 7,
        "elasticsearch/indexed/listings": 3,
        "elasticsearch/spooled": 1,
        "validate/dropped/missing_field": 2,
        "validate/dropped/too_big": 1,
        "media_guard/blocked_url": 4,
        "media_guard/blocked_content_type": 1,
        "onionscope/media_links_skipped": 3,
        "tor/socks_error/host_unreachable": 2,
        "extract/drift/old-bazaar/price": 5,
        "extract/looks_like/nebula-market": 2,
    }
    summary = summarize("job-1", stats)
    assert summary["pages"] == 7
    assert summary["items_indexed"] == 10
    assert summary["indexed_by_kind"] == {"pages": 7, "listings": 3}
    assert summary["items_dropped_invalid"] == 3
    assert summary["media_blocked"] == 8
    assert summary["socks_errors"] == {"host_unreachable": 2}
    assert summary["look_alike_pages"] == 2
    text = format_summary(summary)
    assert "host_unreachable=2" in text and "replay-spool" in text and "drift" in text
    assert "2 pages look like a profiled market" in text and "--market-host" in text


def test_a_network_guard_refusal_fails_the_crawl_loudly(monkeypatch, capsys) -> None:
    import argparse

    from onionscope.commands import crawl
    from config.settings import load_settings

    stats = {"onionscope/pages": 5, "elasticsearch/indexed/pages": 5, "network_guard/refused": 2}
    monkeypatch.setattr(crawl, "run_crawl", lambda *args, **kwargs: stats)
    parser = argparse.ArgumentParser()
    crawl.configure(parser)
    status = crawl.run(parser.parse_args(["--seed", "http://" + "a" * 56 + ".onion/"]), load_settings(None, environ={}))
    out, err = capsys.readouterr()
    assert status == 1
    assert "NETWORK GUARD: refused 2" in out
    assert "error: the network guard refused 2 name lookup(s) or connection(s)" in err
    assert summarize("job", stats)["network_refused"] == 2
    assert summarize("job", {})["network_refused"] == 0


def test_summary_reports_scope_refusals_budgets_and_oversized_headers() -> None:
    stats = {
        "onionscope/pages": 3,
        "scope/refused/ip_literal": 2,
        "scope/refused/clearnet": 5,
        "scope/refused_redirects": 1,
        "budget/hosts_exhausted": 1,
        "budget/refused/host": 9,
        "budget/job_exhausted": 1,
        "budget/refused/job": 4,
        "tor/headers_too_large": 2,
    }
    summary = summarize("job-2", stats)
    assert summary["out_of_scope"] == {"ip_literal": 2, "clearnet": 5}
    assert summary["out_of_scope_redirects"] == 1
    assert summary["page_budget"] == {"hosts_at_limit": 1, "requests_refused_host_limit": 9,
                                      "job_limit_reached": True, "requests_refused_job_limit": 4}
    assert summary["response_headers_too_large"] == 2
    text = format_summary(summary)
    assert "out of scope, not fetched: 7 URLs (clearnet=5, ip_literal=2; 1 of them redirects)" in text
    assert "1 hosts reached crawl_max_pages_per_host (9 requests not made)" in text
    assert "the crawl reached crawl_max_pages (4 requests not made)" in text
    assert "oversized headers: 2" in text


def test_summary_of_a_crawl_within_scope_and_budget_says_nothing_of_them() -> None:
    text = format_summary(summarize("job-3", {"onionscope/pages": 3}))
    assert "scope" not in text and "budget" not in text and "headers" not in text


def test_items_neither_indexed_nor_spooled_fail_the_crawl(monkeypatch, capsys) -> None:
    import argparse

    from onionscope.commands import crawl
    from config.settings import load_settings

    stats = {"onionscope/pages": 5, "elasticsearch/indexed/pages": 3, "elasticsearch/lost": 2}
    monkeypatch.setattr(crawl, "run_crawl", lambda *args, **kwargs: stats)
    parser = argparse.ArgumentParser()
    crawl.configure(parser)
    status = crawl.run(parser.parse_args(["--seed", "http://" + "a" * 56 + ".onion/"]), load_settings(None, environ={}))
    out, _ = capsys.readouterr()
    assert status == 1
    assert "LOST: 2 documents" in out
    assert summarize("job", {})["items_lost"] == 0


@pytest.mark.parametrize(("confirmation", "message"), [
    (f"no-such-market={v3_onion_from_pubkey(bytes(32))}", "no market profile named 'no-such-market'"),
    ("nebula-market=" + "a" * 56 + ".onion", "not a v3 onion address"),  # right shape, wrong checksum
])
def test_a_wrong_market_host_confirmation_stops_the_crawl_before_it_starts(confirmation: str, message: str) -> None:
    # No tor and no Elasticsearch are configured: the confirmation is checked first, as one line.
    settings = load_settings(None, environ={}).replace(market_hosts=[confirmation])
    with pytest.raises(UserError, match=message):
        run_crawl(settings, create_crawl_job(["http://" + v3_onion_from_pubkey(bytes(32)) + "/"], "job"))
