"""Cookies for the crawl, with the public suffix list read from disk, never fetched.

Scrapy's ``CookiesMiddleware`` asks a module-level ``tldextract.TLDExtract()``
whether a cookie's domain is a public suffix (``Domain=onion`` must not become
a cookie for every onion).  That instance fetches the Public Suffix List on its
first use when its cache is empty: ``requests`` to publicsuffix.org and
raw.githubusercontent.com, that is a system DNS lookup and a direct HTTPS
connection from the investigator's own address, outside Tor.  One host-only
``Set-Cookie`` from an onion was enough.

Public API:

* :class:`OfflineCookiesMiddleware` -- Scrapy's cookie middleware, unchanged
  except that the public-suffix test uses the snapshot bundled with
  tldextract: no suffix list URL, no cache directory (nothing fetched, nothing
  written).  :mod:`crawler.settings` installs it in place of Scrapy's.
* :func:`is_public_suffix` ``(domain) -> bool``.

Scrapy internal this module relies on (checked by
tests/unit/test_cookies_middleware.py, so an upgrade breaks loudly):
``CookiesMiddleware._process_cookies(cookies, *, jar, request)`` is where
Scrapy applies the public-suffix test to cookies from responses and requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.utils.httpobj import urlparse_cached
from tldextract import TLDExtract

if TYPE_CHECKING:
    from http.cookiejar import Cookie

    from scrapy import Request
    from scrapy.http.cookies import CookieJar

# suffix_list_urls=() and cache_dir=None: the bundled snapshot is the only source.
# The snapshot ages (new suffixes are missed), which only matters for cookies that
# claim a parent domain; onion hosts have the one suffix "onion", which it has.
_SUFFIXES = TLDExtract(
    cache_dir=None,
    suffix_list_urls=(),
    fallback_to_snapshot=True,
    include_psl_private_domains=True,
)


def is_public_suffix(domain: str) -> bool:
    """True when ``domain`` is a public suffix (``onion``, ``co.uk``); reads only the bundled list."""
    return not _SUFFIXES(domain).domain


class OfflineCookiesMiddleware(CookiesMiddleware):
    """Scrapy's cookie middleware whose public-suffix test never touches the network."""

    def _process_cookies(self, cookies: Iterable["Cookie"], *, jar: "CookieJar", request: "Request") -> None:
        # Scrapy's own rule: a cookie for a public suffix is kept only as a
        # host-only cookie of exactly that host, otherwise dropped.
        hostname = urlparse_cached(request).hostname
        if hostname is None:
            return
        request_domain = hostname.lower()
        for cookie in cookies:
            cookie_domain = cookie.domain.removeprefix(".")
            if cookie_domain and is_public_suffix(cookie_domain):
                if cookie_domain != request_domain:
                    continue
                cookie.domain = request_domain
            jar.set_cookie_if_ok(cookie, request)
