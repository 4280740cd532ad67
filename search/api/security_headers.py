"""The security headers every answer of the app carries, whatever answered it.

Public API:

* :data:`SECURITY_HEADERS` -- the headers: a Content-Security-Policy that
  allows no script at all (and no inline style), ``frame-ancestors 'none'``
  with ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer`` (so onion URLs never leave in a Referer)
  and ``Cache-Control: no-store``.
* :class:`SecurityHeadersMiddleware` -- an ASGI middleware that adds each of
  them to every HTTP response that does not set it already: pages, JSON,
  exports, static files, redirects, Starlette's own 404 and 405, errors.

A route may still pass :data:`SECURITY_HEADERS` itself; the middleware is
what makes a new route, a mount or a framework answer unable to miss them.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

SECURITY_HEADERS = {
    # No script runs on any page: crawled text that slipped past escaping
    # would still be inert.  No inline style either: the stylesheet is /static.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_ENCODED = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (a header the app set is kept)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in _ENCODED if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
