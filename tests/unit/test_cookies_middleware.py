"""The crawl's cookie middleware: Scrapy's cookie handling, and no public-suffix download.

The probe runs in a subprocess so that tldextract is imported with an empty
cache directory (it reads ``TLDEXTRACT_CACHE`` at import), as on a fresh
machine.  Its audit hook records every lookup and connection and refuses it, so
the test can never reach the network, whatever the code under test does.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware

from crawler.middlewares.cookies import OfflineCookiesMiddleware, is_public_suffix

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ONION = "http://" + "a" * 56 + ".onion"


def _probe() -> None:
    """Run in the subprocess: the project's cookie middleware meets a host-only Set-Cookie from an onion."""
    events: list[list[str]] = []

    def record_and_refuse(event: str, args: tuple[Any, ...]) -> None:
        if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo"):
            events.append([event, repr(args[0])])
        elif event in ("socket.connect", "socket.sendto"):
            events.append([event, repr(args[1])])
        else:
            return
        raise OSError("cookie probe: no network in this test")

    sys.addaudithook(record_and_refuse)

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import HtmlResponse, Request
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.conf import build_component_list
    from scrapy.utils.misc import load_object

    from crawler.settings import scrapy_settings
    from config.settings import load_settings

    settings = ScrapySettings(scrapy_settings(load_settings(None, environ={}), ["127.0.0.1:9"]))
    enabled = [load_object(path) for path in build_component_list(settings.getwithbase("DOWNLOADER_MIDDLEWARES"))]
    cookie_middlewares = [cls for cls in enabled if issubclass(cls, CookiesMiddleware)]
    assert len(cookie_middlewares) == 1, cookie_middlewares
    middleware = cookie_middlewares[0].from_crawler(Crawler(Spider, settings))

    first = Request(f"{ONION}/login")
    response = HtmlResponse(
        first.url, request=first, body=b"<html></html>",
        headers={"Set-Cookie": [
            "session=abc123; Path=/; HttpOnly",  # host-only: the domain is the onion itself
            "tracker=1; Domain=onion; Path=/",  # a "supercookie" for every onion: must be dropped
        ]},
    )
    middleware.process_response(first, response)
    second = Request(f"{ONION}/account")
    middleware.process_request(second)
    other_onion = Request("http://" + "b" * 56 + ".onion/")
    middleware.process_request(other_onion)
    print(json.dumps({
        "middleware": f"{cookie_middlewares[0].__module__}.{cookie_middlewares[0].__name__}",
        "events": events,
        "cookie_sent": (second.headers.get("Cookie") or b"").decode(),
        "cookie_to_other_onion": (other_onion.headers.get("Cookie") or b"").decode(),
    }))


@pytest.fixture()
def probe(tmp_path: Path) -> dict[str, Any]:
    cache = tmp_path / "tldextract-cache"
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith("TLDEXTRACT_") and not key.lower().endswith("_proxy")
    }
    environment["TLDEXTRACT_CACHE"] = str(cache)  # empty, as on a machine that never ran tldextract
    result = subprocess.run(
        [sys.executable, "-c", "from tests.unit.test_cookies_middleware import _probe; _probe()"],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["cache_files"] = sorted(str(path.relative_to(cache)) for path in cache.rglob("*")) if cache.exists() else []
    return report


def test_a_host_only_cookie_from_an_onion_triggers_no_lookup_and_no_connection(probe: dict[str, Any]) -> None:
    assert probe["events"] == [], f"{probe['middleware']} tried to reach the network: {probe['events']}"
    assert probe["cache_files"] == []  # nothing fetched, so nothing cached either


def test_cookies_still_work_and_a_supercookie_for_onion_is_dropped(probe: dict[str, Any]) -> None:
    assert probe["cookie_sent"] == "session=abc123"
    assert probe["cookie_to_other_onion"] == ""


def test_public_suffixes_come_from_the_bundled_list() -> None:
    assert is_public_suffix("onion") and is_public_suffix("co.uk")
    assert not is_public_suffix("a" * 56 + ".onion")
    assert not is_public_suffix("example.co.uk")


def test_the_scrapy_internal_it_overrides_still_exists() -> None:
    # If Scrapy renames _process_cookies, the override would silently stop applying.
    stock = inspect.signature(CookiesMiddleware._process_cookies)
    assert list(stock.parameters) == ["self", "cookies", "jar", "request"]
    assert OfflineCookiesMiddleware._process_cookies is not CookiesMiddleware._process_cookies
    assert "_process_cookies" in inspect.getsource(CookiesMiddleware.process_response)
    assert "_process_cookies" in inspect.getsource(CookiesMiddleware.process_request)
