"""Redirects to a login page where content was expected: counted per site, never followed.

A market without a valid session typically answers a listing URL with a
redirect to its login page (``302 Location: /login?next=...``).  This
downloader middleware sees the redirect before Scrapy's RedirectMiddleware
(it sits above it, at 650) and, when the redirect goes to a login, CAPTCHA or
anti-DDoS URL (:func:`crawler.extractors.login_wall.is_login_url`) from a URL
that is not one, records that the site needs a fresh session and drops the
request (:class:`~scrapy.exceptions.IgnoreRequest`): the login page is not
fetched, so it cannot be indexed as content.  Login pages shown in place of
content without a redirect are the spider's to detect (same stats).

Public API:

* :class:`LoginRedirectMiddleware`;
* :func:`record_needs_login` ``(crawler, host, url, reason)`` -- the one way
  the middleware and the spider count a login wall: stat
  ``login/needs_login/<host>`` (+1) and one WARNING per host;
* :data:`NEEDS_LOGIN_STAT_PREFIX`, :func:`needs_login_sites` ``(stats) -> {host: pages}``;
* :data:`SESSION_SITES_STAT_PREFIX`, :func:`session_sites` ``(stats) -> [host]`` -- the hosts the
  session file had cookies or headers for (set by :mod:`crawler.middlewares.cookies`).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping
from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from crawler.extractors.login_wall import is_login_url

logger = logging.getLogger(__name__)

NEEDS_LOGIN_STAT_PREFIX = "login/needs_login/"
SESSION_SITES_STAT_PREFIX = "login/session_sites/"
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def needs_login_sites(stats: Mapping[str, Any]) -> dict[str, int]:
    """``{onion host: pages that showed a login wall}`` from a crawl's stats."""
    return {key[len(NEEDS_LOGIN_STAT_PREFIX):]: int(value) for key, value in stats.items()
            if key.startswith(NEEDS_LOGIN_STAT_PREFIX) and isinstance(value, (int, float))}


def session_sites(stats: Mapping[str, Any]) -> list[str]:
    """The onion hosts the crawl had a login session for, sorted (names only)."""
    return sorted(key[len(SESSION_SITES_STAT_PREFIX):] for key in stats if key.startswith(SESSION_SITES_STAT_PREFIX))


def record_needs_login(crawler: Any, host: str, url: str, reason: str) -> None:
    """Count a login wall on ``host`` met at ``url``; the first one per host is logged as a WARNING."""
    key = NEEDS_LOGIN_STAT_PREFIX + host
    first = not crawler.stats.get_value(key)
    crawler.stats.inc_value(key)
    if first:
        has_session = bool(crawler.stats.get_value(SESSION_SITES_STAT_PREFIX + host))
        logger.warning(
            "%s needs a fresh session: %s showed a login page (%s) where content was expected; %s",
            host, url[:300], reason,
            "the session file's cookies for it were refused or expired; export a fresh session from Tor Browser"
            if has_session else "export a session from Tor Browser and pass it with --session FILE",
        )


class LoginRedirectMiddleware:
    """Downloader middleware: a redirect to a login URL counts as a login wall and is not followed."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> "LoginRedirectMiddleware":
        return cls(crawler)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if response.status not in _REDIRECT_STATUSES or request.meta.get("dont_redirect"):
            return response
        location = response.headers.get(b"Location")
        if not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        host = (urlsplit(request.url).hostname or "").lower()
        if (urlsplit(target).hostname or "").lower() != host or not is_login_url(target):
            return response
        # A link that pointed at the login page itself expected a login page (not indexed either way).
        if is_login_url(request.url):
            self.crawler.stats.inc_value("login/login_pages_skipped")
            raise IgnoreRequest(f"login page, not content: {request.url}")
        record_needs_login(self.crawler, host, request.url, f"redirect to {urlsplit(target).path[:80]}")
        raise IgnoreRequest(f"{request.url} redirects to a login page")
