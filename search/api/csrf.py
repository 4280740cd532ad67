"""Cross-site request forgery: what a browser may change, only from the app's own pages.

A signed double-submit token.  The first page the app renders for a
browser sets the cookie ``onionscope_csrf`` (a random value; HttpOnly,
SameSite=Strict, Secure over https), and every form on the page carries
``csrf_token``: that value signed by :mod:`search.signing` for the CSRF
purpose.  A state-changing request (POST, PUT, PATCH, DELETE) that does not
carry an ``Authorization`` header -- so a browser's, which may bring the
session cookie along -- must bring both, and the token must be the signed
cookie value: a form on another site can neither read the cookie nor sign
one it planted.  API clients that send ``Authorization: Bearer`` are not
asked: the session cookie is never read for them, and a browser adds no such
header to a cross-site request.  JSON clients riding on a session send the
token in the ``X-CSRF-Token`` header.

Public API:

* :func:`csrf_protect` -- a FastAPI dependency (the app adds it to every
  route); raises :class:`CsrfRefused` (answered 403) for a state-changing
  request without a valid token.
* :func:`csrf_form_token` (request, secret) -> the value of the forms'
  ``csrf_token`` field for this browser (made, and remembered for
  :func:`set_csrf_cookie`, when the browser has no cookie yet).
* :func:`set_csrf_cookie` (request, response) -- sets the cookie a page's
  token was made for, when it is new.
* :data:`CSRF_COOKIE`, :data:`CSRF_FIELD`, :data:`CSRF_HEADER`, :data:`UNSAFE_METHODS`.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import Response

from search.signing import CSRF_PURPOSE, BadSignedValue, sign_value, unsign_value

CSRF_COOKIE = "onionscope_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The random value is 43 characters; anything much longer is not ours.
_MAX_COOKIE_CHARS = 100


class CsrfRefused(Exception):
    """A state-changing request from a browser without the token of one of the app's own pages."""


def _cookie_value(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE)
    return value if value and len(value) <= _MAX_COOKIE_CHARS else None


def csrf_form_token(request: Request, secret: bytes) -> str:
    """The ``csrf_token`` for the forms of the page answering ``request``."""
    value = _cookie_value(request)
    if value is None:
        value = getattr(request.state, "new_csrf_cookie", None) or secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = value
    return sign_value(secret, CSRF_PURPOSE, value)


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Set the cookie :func:`csrf_form_token` made for this request, if it made one."""
    value = getattr(request.state, "new_csrf_cookie", None)
    if value:
        response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")


async def _presented_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in _FORM_TYPES:
        # Starlette keeps the parsed form, so the route reads the same one.
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def csrf_protect(request: Request) -> None:
    """Refuse a browser's state-changing request that lacks the token of one of the app's pages.

    :raises CsrfRefused: the method changes state, no ``Authorization``
        header was sent, and the ``csrf_token`` field (or ``X-CSRF-Token``
        header) is missing, or is not the signed value of the browser's
        ``onionscope_csrf`` cookie.
    """
    if request.method not in UNSAFE_METHODS or "authorization" in request.headers:
        return
    cookie = _cookie_value(request)
    presented = await _presented_token(request)
    if not cookie or not presented:
        raise CsrfRefused()
    try:
        signed_for = unsign_value(request.app.state.context.secret, CSRF_PURPOSE, presented)
    except BadSignedValue:
        raise CsrfRefused() from None
    if not isinstance(signed_for, str) or not secrets.compare_digest(signed_for.encode(), cookie.encode()):
        raise CsrfRefused()
