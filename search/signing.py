"""Signed values: the one signer behind session cookies, search cursors, CSRF tokens and webhook bodies.

A signed value is a small JSON document, base64url-encoded, then signed with
itsdangerous (HMAC-SHA256, the key derived from the secret and a *purpose*
salt), so a session cookie can never be replayed as a cursor or the other
way round.  The text is ``<payload>.<signature>``: URL-, cookie- and
header-safe, and never compressed, so its size says nothing about its content.
The payload is signed, not encrypted: anyone can read it, nobody can alter it.

Public API:

* :data:`SESSION_PURPOSE`, :data:`CURSOR_PURPOSE`, :data:`CSRF_PURPOSE` -- the salts of the
  three uses (session cookies, search cursors, the forms' CSRF tokens)
* :func:`sign_value` (secret, purpose, value) -> str
* :func:`unsign_value` (secret, purpose, text) -> the JSON value;
  raises :class:`BadSignedValue` when the text was altered, signed with
  another secret or purpose, or is not a signed value at all.
* :func:`webhook_signature` (secret, timestamp, body) -> ``sha256=<hex>``, the HMAC-SHA256 of
  ``<timestamp>.<body>``: what an alert receiver checks (search.webhooks sends it; a receiver
  recomputes it with any HMAC library, so it is plain HMAC, not an itsdangerous token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from itsdangerous import BadSignature, Signer

SESSION_PURPOSE = "onionscope.session"
CURSOR_PURPOSE = "onionscope.cursor"
CSRF_PURPOSE = "onionscope.csrf"
# A signed value longer than this is refused before any work is done on it.
MAX_SIGNED_CHARS = 4096


class BadSignedValue(ValueError):
    """The text is not a value signed with this secret for this purpose."""


def _signer(secret: bytes, purpose: str) -> Signer:
    return Signer(secret, salt=purpose, digest_method=hashlib.sha256)


def sign_value(secret: bytes, purpose: str, value: Any) -> str:
    """``value`` (anything :func:`json.dumps` takes) as signed, URL-safe text for ``purpose``."""
    payload = base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=")
    return _signer(secret, purpose).sign(payload).decode("ascii")


def unsign_value(secret: bytes, purpose: str, text: str) -> Any:
    """The JSON value in ``text`` if ``secret`` signed it for ``purpose``.

    :raises BadSignedValue: altered, signed with another secret or purpose,
        too long, or not a signed value at all.
    """
    if not isinstance(text, str) or len(text) > MAX_SIGNED_CHARS:
        raise BadSignedValue("not a signed value")
    try:
        payload = _signer(secret, purpose).unsign(text.encode("ascii"))
        return json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (BadSignature, UnicodeError, ValueError) as exc:
        raise BadSignedValue("not a signed value") from exc


def webhook_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
