"""`onionscope crawl` options: scope, budgets and depth reach the crawl; out-of-scope seeds stop it first."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from crawler.job import CrawlJob
from onionscope.commands import crawl as crawl_command
from config.errors import UserError
from config.settings import load_settings

SEED = "http://" + "a" * 56 + ".onion/"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    crawl_command.configure(parser)
    return parser.parse_args(argv)


@pytest.fixture
def crawls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Records what run() would crawl instead of crawling (no tor, no Elasticsearch here)."""
    started: list[dict[str, Any]] = []

    def record(settings: Any, job: CrawlJob, **options: Any) -> dict[str, Any]:
        started.append({"settings": settings, "seeds": list(job.seeds), "follow_offsite": job.options.follow_offsite,
                        "dangerously_allow_clearnet": job.options.allow_clearnet, **options})
        return {"onionscope/pages": 1}

    monkeypatch.setattr(crawl_command, "run_crawl", record)
    return started


@pytest.mark.parametrize(
    ("seed", "extra", "words"),
    [
        ("http://127.0.0.1:9200/", [], "IP-literal"),
        ("http://[::1]/", ["--dangerously-allow-clearnet"], "IP-literal"),
        ("http://localhost/", ["--follow-offsite"], "local host name"),
        ("http://example.com/", ["--follow-offsite"], "--dangerously-allow-clearnet"),
    ],
)
def test_out_of_scope_seeds_stop_the_crawl_before_it_starts(crawls, seed: str, extra: list[str], words: str) -> None:
    with pytest.raises(UserError, match=words):
        crawl_command.run(parse("--seed", SEED, "--seed", seed, *extra), load_settings(environ={}))
    assert crawls == []


def test_budgets_depth_and_scope_options_reach_the_crawl(crawls, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--seed", SEED, "--depth", "0", "--max-pages-per-host", "12", "--max-pages", "34", "--follow-offsite")
    assert crawl_command.run(args, load_settings(environ={})) == 0
    [started] = crawls
    assert started["settings"].crawl_depth == 0
    assert started["settings"].crawl_max_pages_per_host == 12 and started["settings"].crawl_max_pages == 34
    assert started["follow_offsite"] is True and started["dangerously_allow_clearnet"] is False


def test_clearnet_seed_with_the_dangerous_option(crawls, capsys: pytest.CaptureFixture[str]) -> None:
    crawl_command.run(parse("--seed", "https://example.com/", "--dangerously-allow-clearnet"), load_settings(environ={}))
    assert crawls[0]["dangerously_allow_clearnet"] is True


def test_the_follow_offsite_setting_is_honoured(crawls, capsys: pytest.CaptureFixture[str]) -> None:
    crawl_command.run(parse("--seed", SEED), load_settings(environ={"ONIONSCOPE_FOLLOW_OFFSITE": "true"}))
    assert crawls[0]["follow_offsite"] is True


def test_a_budget_below_one_is_refused_by_the_settings(crawls) -> None:
    with pytest.raises(UserError, match="crawl_max_pages"):
        crawl_command.run(parse("--seed", SEED, "--max-pages", "0"), load_settings(environ={}))
