from __future__ import annotations

import pytest

from crawler.urls import canonical_url, is_media_url, onion_host, site_host

HOST = "a" * 56 + ".onion"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"HTTP://{HOST.upper()}:80/a?b=2&a=1#top", f"http://{HOST}/a?a=1&b=2"),
        (f"https://{HOST}:443", f"https://{HOST}/"),
        (f"http://{HOST}:8080/x", f"http://{HOST}:8080/x"),
        (f"http://{HOST}/%7euser/", f"http://{HOST}/~user/"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url(f"http://{HOST}/p?page=2&cat=x#frag")
    assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://{HOST}/", HOST),
        (f"http://shop.{HOST}/x", HOST),
        ("http://127.0.0.1/", None),
        ("http://example.com/", None),
        ("not a url", None),
    ],
)
def test_onion_host(url: str, expected: str | None) -> None:
    assert onion_host(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://{HOST}/img/product.JPG", True),
        (f"http://{HOST}/dl/pack.zip?x=1", True),
        (f"http://{HOST}/video.mp4", True),
        (f"http://{HOST}/listing/42", False),
        (f"http://{HOST}/page.html", False),
        (f"http://{HOST}/jpg", False),
    ],
)
def test_is_media_url(url: str, expected: bool) -> None:
    assert is_media_url(url) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://shop.{HOST.upper()}:8080/x", HOST),
        ("https://WWW.Example.com/a", "www.example.com"),
        ("http://[::1]:80/", "::1"),
        ("http:///nohost", None),
    ],
)
def test_site_host(url: str, expected: str | None) -> None:
    assert site_host(url) == expected
