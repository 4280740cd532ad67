"""The blocklist: its file (validated with file:line errors), the crawl's middleware and the query-time filter."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import scrapy
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from config.blocklist import Blocklist, BlocklistFile, blocklist_for, load_blocklist, parse_blocklist
from config.settings import ConfigError, load_settings
from crawler.middlewares.blocklist import BlocklistMiddleware, body_hash
from search.blocklist import filtered_body, kind_of, must_not, visible

BLOCKED = "b" * 56 + ".onion"
OPEN = "o" * 56 + ".onion"
BODY = b"<html><body>blocked body</body></html>"
BODY_HASH = hashlib.sha256(BODY).hexdigest()
GOOD = f"""# what onionscope must never fetch, index or show
onion_hosts:
  - {BLOCKED.upper()}
url_patterns:
  - "http://{OPEN}/private/*"
  - "*/members?id=*"
content_hashes:
  - {BODY_HASH}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "blocklist.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads_normalised() -> None:
    blocklist = parse_blocklist(GOOD, Path("blocklist.yml"))
    assert blocklist.onion_hosts == {BLOCKED}
    assert blocklist.url_patterns == (f"http://{OPEN}/private/*", "*/members?id=*")
    assert blocklist.content_hashes == {BODY_HASH}


@pytest.mark.parametrize(("text", "message"), [
    ("onion_host:\n  - x\n", "blocklist.yml:1: unknown key 'onion_host' (did you mean 'onion_hosts'?)"),
    ("onion_hosts:\n  - " + BLOCKED + "\n  - not-an-onion.onion\n", "blocklist.yml:3: onion_hosts: 'not-an-onion.onion' is not a v3 onion host"),
    ("content_hashes:\n\n  - abc123\n", "blocklist.yml:3: content_hashes: 'abc123' is not a sha256 hex digest"),
    ("url_patterns:\n  - /private/*\n", "blocklist.yml:2: url_patterns: '/private/*' is not a URL pattern"),
    ("url_patterns:\n  - 'http://x.onion/[ab]'\n", "blocklist.yml:2: url_patterns: 'http://x.onion/[ab]' is not a URL pattern"),
    ("onion_hosts: " + BLOCKED + "\n", "blocklist.yml:1: onion_hosts: expected a list"),
    ("- " + BLOCKED + "\n", "blocklist.yml:1: expected a mapping"),
    ("onion_hosts: [\n", "blocklist.yml: not valid YAML"),
])
def test_a_bad_entry_is_an_error_naming_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_blocklist(_write(tmp_path, text))
    assert str(raised.value).replace(str(tmp_path) + os.sep, "").startswith(message), str(raised.value)


def test_an_absent_file_is_empty_unless_it_was_set(tmp_path: Path) -> None:
    assert not load_blocklist(tmp_path / "none.yml")
    default = load_settings(environ={})
    assert not blocklist_for(default)
    explicit = load_settings(environ={"ONIONSCOPE_BLOCKLIST_FILE": str(tmp_path / "none.yml")})
    with pytest.raises(ConfigError, match="blocklist file not found"):
        blocklist_for(explicit)


def test_the_default_blocklist_is_found_in_config_dir_wherever_the_command_runs(tmp_path: Path, monkeypatch) -> None:
    # No blocklist_file set: the file is <config_dir>/blocklist.yml, not config/blocklist.yml under
    # the current directory (an installed copy, or a command run elsewhere, would silently block nothing).
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    (config_dir / "blocklist.yml").write_text(f"onion_hosts:\n  - {BLOCKED}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(environ={"ONIONSCOPE_CONFIG_DIR": str(config_dir)})
    assert blocklist_for(settings).refusal(f"http://{BLOCKED}/") == "onion_host"
    assert BlocklistFile.for_settings(settings).current().refusal(f"http://{BLOCKED}/x") == "onion_host"


@pytest.mark.parametrize(("url", "reason"), [
    (f"http://{BLOCKED}/", "onion_host"),
    (f"https://forum.{BLOCKED}:443/x", "onion_host"),
    (f"http://{OPEN}/private/chat", "url_pattern"),
    (f"http://{OPEN}/members?id=7", "url_pattern"),
    (f"http://{OPEN}/Private/chat", None),  # patterns are case-sensitive, as URLs are
    (f"http://{OPEN}/public", None),
])
def test_refusal(url: str, reason: str | None) -> None:
    assert parse_blocklist(GOOD, Path("b.yml")).refusal(url) == reason


def test_a_changed_file_is_reread_and_a_broken_edit_keeps_the_last_good_list(tmp_path: Path, caplog) -> None:
    path = _write(tmp_path, "onion_hosts:\n  - " + BLOCKED + "\n")
    source = BlocklistFile(path)
    assert source.current().onion_hosts == {BLOCKED}
    path.write_text("onion_hosts:\n  - " + BLOCKED + "\n  - " + OPEN + "\n", encoding="utf-8")
    os.utime(path, ns=(1, 10**18))
    assert source.current().onion_hosts == {BLOCKED, OPEN}
    path.write_text("onion_hosts:\n  - nonsense\n", encoding="utf-8")
    os.utime(path, ns=(1, 2 * 10**18))
    assert source.current().onion_hosts == {BLOCKED, OPEN}
    assert "still applying the last valid one" in caplog.text


# --- the crawl


def _middleware(tmp_path: Path) -> tuple[BlocklistMiddleware, object]:
    settings = load_settings(environ={"ONIONSCOPE_BLOCKLIST_FILE": str(_write(tmp_path, GOOD))})
    crawler = get_crawler(settings_dict={"ONIONSCOPE_SETTINGS": settings})
    return BlocklistMiddleware.from_crawler(crawler), crawler


def test_blocked_urls_are_never_queued_nor_fetched(tmp_path: Path) -> None:
    middleware, crawler = _middleware(tmp_path)
    for url in (f"http://{BLOCKED}/a", f"http://{OPEN}/private/b"):
        request = scrapy.Request(url)
        with pytest.raises(IgnoreRequest):
            middleware.request_scheduled(request, None)
        with pytest.raises(IgnoreRequest):
            middleware.process_request(request)
    middleware.request_scheduled(scrapy.Request(f"http://{OPEN}/public"), None)
    stats = crawler.stats.get_stats()  # type: ignore[attr-defined]
    assert stats["blocklist/refused/onion_host"] == 2 and stats["blocklist/refused/url_pattern"] == 2


def test_a_body_with_a_blocked_hash_is_never_read(tmp_path: Path) -> None:
    middleware, crawler = _middleware(tmp_path)
    request = scrapy.Request(f"http://{OPEN}/page")
    blocked = HtmlResponse(request.url, body=BODY, request=request)
    with pytest.raises(IgnoreRequest):
        middleware.process_response(request, blocked)
    fine = HtmlResponse(request.url, body=BODY + b" ", request=request)
    assert middleware.process_response(request, fine) is fine
    assert crawler.stats.get_value("blocklist/refused/content_hash") == 1  # type: ignore[attr-defined]


def test_the_body_hash_is_the_pages_content_hash() -> None:
    from crawler.extractors.document import extract_document

    document = extract_document(BODY, f"http://{OPEN}/x", "2026-01-01T00:00:00Z", "job")
    assert body_hash(BODY) == document.page.content_hash


def test_an_empty_blocklist_switches_the_middleware_off(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    with pytest.raises(NotConfigured):
        BlocklistMiddleware.from_crawler(get_crawler(settings_dict={"ONIONSCOPE_SETTINGS": settings}))


# --- the query-time filter


def test_every_kind_gets_its_own_clauses() -> None:
    blocklist = parse_blocklist(GOOD, Path("b.yml"))
    assert must_not("pages", blocklist) == [
        {"terms": {"onion_host": [BLOCKED]}},
        {"wildcard": {"url": {"value": f"http://{OPEN}/private/*"}}},
        {"wildcard": {"url": {"value": "*/members?id=*"}}},
        {"terms": {"content_hash": [BODY_HASH]}},
    ]
    assert must_not("wallets", blocklist) == [{"terms": {"onion_hosts": [BLOCKED]}}]
    assert {"wildcard": {"profile_url": {"value": f"http://{OPEN}/private/*"}}} in must_not("vendors", blocklist)
    assert [kind_of(f"p-{kind}") for kind in ("pages", "crawl-runs", "tokens", "audit")] == ["pages", None, None, None]


def test_a_query_keeps_its_scoring_and_loses_the_blocked_documents() -> None:
    blocklist = parse_blocklist(GOOD, Path("b.yml"))
    body = {"query": {"match": {"text": "pills"}}, "size": 5, "aggs": {"m": {"terms": {"field": "market"}}}}
    filtered = filtered_body("x-pages", body, blocklist)
    assert filtered["query"]["bool"]["must"] == [body["query"]] and filtered["query"]["bool"]["must_not"]
    assert filtered["aggs"] == body["aggs"] and filtered["size"] == 5
    assert filtered_body("x-audit", body, blocklist) is body
    assert filtered_body("x-pages", body, Blocklist()) is body


def test_a_blocked_document_fetched_by_id_answers_as_missing() -> None:
    blocklist = parse_blocklist(GOOD, Path("b.yml"))
    assert visible("x-onions", {"_source": {"onion_host": BLOCKED}}, blocklist) is None
    assert visible("x-pages", {"_source": {"onion_host": OPEN, "content_hash": BODY_HASH}}, blocklist) is None
    assert visible("x-vendors", {"_source": {"onion_host": OPEN, "profile_url": f"http://{OPEN}/private/v"}}, blocklist) is None
    kept = {"_source": {"onion_host": OPEN, "url": f"http://{OPEN}/public"}}
    assert visible("x-pages", kept, blocklist) is kept


def test_an_onion_whose_last_page_is_blocked_stays_visible() -> None:
    """The host is not blocked, only one of its pages: its entity must not vanish with that page."""
    blocklist = parse_blocklist(GOOD, Path("b.yml"))
    entity = {"_source": {"onion_host": OPEN, "last_url": f"http://{OPEN}/private/chat"}}
    assert visible("x-onions", entity, blocklist) is entity
    assert must_not("onions", blocklist) == [{"terms": {"onion_host": [BLOCKED]}}]
