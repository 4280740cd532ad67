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
    assert "responses dropped" not in text and "trap" not in text and "redirect" not in text


def test_summary_reports_what_hostile_sites_did() -> None:
    stats = {
        "onionscope/pages": 9,
        "download/maxsize_exceeded": 3,
        "download/decompressed_maxsize_exceeded": 4,
        "download/decompressed_maxsize_exceeded/br": 1,
        "download/body_timeout": 1,
        "media_guard/binary_body": 2,
        "redirect/max_reached": 1,
        "trap/refused/pattern_budget": 30,
        "trap/refused/repeated_segment": 1,
        "extract/links_not_followed/scheme": 3,
        "extract/deep_nesting_flattened": 1,
        "blocklist/refused/onion_host": 2,
        "blocklist/refused/content_hash": 1,
    }
    summary = summarize("job-4", stats)
    assert summary["responses_refused"] == {"over_download_maxsize": 3, "decompressed_over_download_maxsize": 4,
                                            "body_timeout": 1, "binary_body": 2}
    assert summary["traps_refused"] == {"pattern_budget": 30, "repeated_segment": 1}
    text = format_summary(summary)
    assert ("responses dropped: binary_body=2, body_timeout=1, decompressed_over_download_maxsize=4, "
            "over_download_maxsize=3") in text
    assert "redirect chains cut at REDIRECT_MAX_TIMES: 1" in text
    assert "crawler traps, not fetched: 31 URLs (pattern_budget=30, repeated_segment=1)" in text
    assert "not followed: 3" in text and "flattened and read: 1" in text
    assert "on the blocklist, not fetched or not indexed: content_hash=1, onion_host=2" in text


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


def test_a_bad_blocklist_stops_the_crawl_before_it_starts(tmp_path) -> None:
    blocklist = tmp_path / "blocklist.yml"
    blocklist.write_text("onion_hosts:\n  - not-an-onion\n", encoding="utf-8")
    settings = load_settings(None, environ={}).replace(blocklist_file=str(blocklist))
    with pytest.raises(UserError, match=r"blocklist.yml:2: onion_hosts: 'not-an-onion' is not a v3 onion host"):
        run_crawl(settings, create_crawl_job(["http://" + v3_onion_from_pubkey(bytes(32)) + "/"], "job"))


def _run_with_stats(monkeypatch, stats: dict) -> int:  # type: ignore[no-untyped-def]
    import argparse

    from onionscope.commands import crawl

    monkeypatch.setattr(crawl, "run_crawl", lambda *args, **kwargs: stats)
    parser = argparse.ArgumentParser()
    crawl.configure(parser)
    return crawl.run(parser.parse_args(["--seed", "http://" + "a" * 56 + ".onion/"]), load_settings(None, environ={}))


def test_what_the_crawl_spooled_and_wrote_back_at_its_end_does_not_fail_it(monkeypatch, capsys) -> None:
    stats = {"onionscope/pages": 5, "elasticsearch/indexed/pages": 5, "elasticsearch/spooled": 4,
             "elasticsearch/replayed": 4, "elasticsearch/spool_left": 0}
    assert _run_with_stats(monkeypatch, stats) == 0
    out, _ = capsys.readouterr()
    assert "spooled 4 (4 written back at the end, 0 left)" in out and "replay-spool" not in out
    # One record left in the spool fails it, and says how to replay it.
    assert _run_with_stats(monkeypatch, {**stats, "elasticsearch/spool_left": 1}) == 1
    assert "replay-spool" in capsys.readouterr()[0]
    # Without the figures of a write-back (older stats), whatever was spooled counts as left.
    assert summarize("job", {"elasticsearch/spooled": 3})["items_left_in_spool"] == 3


def test_a_spool_that_could_not_be_written_stops_the_crawl_with_an_error(monkeypatch, capsys) -> None:
    stats = {"onionscope/pages": 5, "elasticsearch/indexed/pages": 2, "elasticsearch/spooled": 2,
             "elasticsearch/lost": 3, "finish_reason": "spool_failed",
             "elasticsearch/spool_error": "the spool folder /x/spool is full (No space left on device)"}
    assert _run_with_stats(monkeypatch, stats) == 1
    out, err = capsys.readouterr()
    assert "STOPPED: the spool could not be written" in out and "LOST: 3 documents" in out
    assert "error: the crawl was stopped because the spool could not be written: the spool folder /x/spool is full" in err


def test_a_site_that_needs_login_is_named_and_exits_with_its_own_code(monkeypatch, capsys) -> None:
    import argparse

    from onionscope.commands import crawl

    gated, other = "g" * 52 + "abcd.onion", "h" * 52 + "abcd.onion"
    stats = {"onionscope/pages": 4, "elasticsearch/indexed/pages": 4, f"login/needs_login/{gated}": 7,
             f"login/needs_login/{other}": 1, f"login/session_sites/{gated}": 1, "login/expired_cookies": 2}
    monkeypatch.setattr(crawl, "run_crawl", lambda *args, **kwargs: stats)
    parser = argparse.ArgumentParser()
    crawl.configure(parser)
    status = crawl.run(parser.parse_args(["--seed", f"http://{gated}/"]), load_settings(None, environ={}))
    out, err = capsys.readouterr()
    assert status == crawl.EXIT_NEEDS_LOGIN == 3
    assert f"NEEDS LOGIN: {gated} showed a login or CAPTCHA page for 7 page(s)" in out
    assert f"the session for {gated} was refused or has expired" in err and f"{other} needs a login session" in err
    summary = summarize("job", stats)
    assert summary["needs_login_sites"] == {gated: 7, other: 1}
    assert summary["session_sites"] == [gated] and summary["expired_session_cookies"] == 2
    assert summarize("job", {})["needs_login_sites"] == {}


def test_a_bad_session_file_stops_the_crawl_before_it_connects(tmp_path) -> None:
    from crawler.job import create_crawl_job
    from crawler.sessions import SessionFileError

    bad = tmp_path / "session.yml"
    bad.write_text("sites:\n  example.com:\n    cookies: {sid: s3cr3t}\n", encoding="utf-8")
    settings = load_settings(None, environ={}).replace(
        sessions_file=str(bad), es_url="http://127.0.0.1:9", tor_socks="127.0.0.1:9")
    with pytest.raises(SessionFileError, match=r"session.yml:2: .*not a v3 onion host") as caught:
        run_crawl(settings, create_crawl_job(["http://" + "a" * 56 + ".onion/"]))
    assert "s3cr3t" not in str(caught.value)
