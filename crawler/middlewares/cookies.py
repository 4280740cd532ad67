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

It also carries the investigator's login sessions (:mod:`crawler.sessions`,
Scrapy setting ``ONIONSCOPE_SESSIONS``): before the first request to an onion
host that has a session, that site's cookies go into the cookie jar as
host-only cookies of exactly that host (so the jar sends them to it and to no
other onion, and a site's own ``Set-Cookie`` may renew them, as in a browser);
its headers are set on every request to that host, and removed from a request
to any other host (a redirect copies headers).  A cookie whose expiry has
passed is not sent; the crawl logs its name and host (stat
``login/expired_cookies``).  No value is ever logged: ``COOKIES_DEBUG``, which
would log every Cookie header, is refused when a session is loaded.  Stats:
``login/session_sites/<host>`` for each host with a session.

Scrapy internal this module relies on (checked by
tests/unit/test_cookies_middleware.py, so an upgrade breaks loudly):
``CookiesMiddleware._process_cookies(cookies, *, jar, request)`` is where
Scrapy applies the public-suffix test to cookies from responses and requests.
"""

from __future__ import annotations

import logging
import time
from http.cookiejar import Cookie
from typing import TYPE_CHECKING, Any, Iterable

from scrapy import signals
from scrapy.downloadermiddlewares.cookies import CookiesMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached
from tldextract import TLDExtract

from config.errors import UserError
from config.i18n import _
from crawler.middlewares.login_wall import SESSION_SITES_STAT_PREFIX
from crawler.sessions import SessionConfig, SiteSession

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http.cookies import CookieJar

logger = logging.getLogger(__name__)

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
    """Scrapy's cookie middleware whose public-suffix test never touches the network, carrying the login sessions.

    Raises :class:`config.errors.UserError` when ``COOKIES_DEBUG`` is on with a session file.
    """

    def __init__(self, debug: bool = False, sessions: SessionConfig | None = None) -> None:
        if debug and sessions is not None and sessions.sites:
            raise UserError(_("COOKIES_DEBUG would log the session's cookie values; it cannot be on with a session file"))
        super().__init__(debug)
        self.sessions = sessions
        # (cookie jar key, host) pairs whose jar already holds the host's session cookies.
        self._seeded: set[tuple[Any, str]] = set()
        # Every session header (lower-case name, value): removed from requests to other hosts.
        self._session_headers = {
            (name.lower(), value.reveal()): site.host
            for site in (sessions.sites.values() if sessions else ()) for name, value in site.headers
        }

    @classmethod
    def from_crawler(cls, crawler: Any) -> "OfflineCookiesMiddleware":
        """The middleware with the crawl's sessions (``ONIONSCOPE_SESSIONS``); NotConfigured without cookies."""
        if not crawler.settings.getbool("COOKIES_ENABLED"):
            raise NotConfigured
        middleware = cls(crawler.settings.getbool("COOKIES_DEBUG"), sessions=crawler.settings.get("ONIONSCOPE_SESSIONS"))
        middleware.crawler = crawler
        crawler.signals.connect(middleware._spider_opened, signal=signals.spider_opened)
        return middleware

    def _spider_opened(self, spider: Any) -> None:
        if self.sessions is None:
            return
        for host in self.sessions.hosts:
            self.crawler.stats.set_value(SESSION_SITES_STAT_PREFIX + host, 1)

    def process_request(self, request: "Request", spider: Any = None) -> Any:
        """Seed the jar with the host's session cookies (once), then Scrapy's cookie handling, then headers."""
        hostname = (urlparse_cached(request).hostname or "").lower()
        site = self.sessions.for_host(hostname) if self.sessions is not None else None
        if site is not None and not request.meta.get("dont_merge_cookies", False):
            key = (request.meta.get("cookiejar"), hostname)
            if key not in self._seeded:
                self._seeded.add(key)
                self._seed_jar(self.jars[request.meta.get("cookiejar")], site)
        result = super().process_request(request)
        for header in list(request.headers.keys()):
            name = header.decode("latin-1").lower()
            for value in request.headers.getlist(header):
                owner = self._session_headers.get((name, value.decode("latin-1")))
                if owner is not None and owner != hostname:
                    del request.headers[header]
                    break
        if site is not None:
            for name, value in site.headers:
                request.headers[name] = value.reveal()
        return result

    def _seed_jar(self, jar: "CookieJar", site: SiteSession) -> None:
        now = time.time()
        for cookie in site.cookies:
            if cookie.expired(now):
                self.crawler.stats.inc_value("login/expired_cookies")
                logger.warning(
                    "session cookie %r for %s (%s) expired at %s; not sent: export a fresh session from Tor Browser",
                    cookie.name, site.host, cookie.where,
                    time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(cookie.expires or 0)),
                )
                continue
            # Host-only (no Domain attribute), for exactly this onion.  Not "secure": Tor Browser
            # treats onion services as secure contexts and sends Secure cookies over http:// onions.
            jar.jar.set_cookie(Cookie(
                version=0, name=cookie.name, value=cookie.value.reveal(), port=None, port_specified=False,
                domain=site.host, domain_specified=False, domain_initial_dot=False,
                path=cookie.path, path_specified=True, secure=False, expires=cookie.expires,
                discard=cookie.expires is None, comment=None, comment_url=None,
                rest={"HttpOnly": ""} if cookie.http_only else {},
            ))

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
