"""The one signer (search/signing.py) behind session cookies and search cursors."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import Signer

from search.auth import hash_token, make_session_cookie, read_session_cookie
from search.query import QueryError
from search.results import decode_cursor, encode_cursor
from search.signing import (
    CURSOR_PURPOSE,
    MAX_SIGNED_CHARS,
    SESSION_PURPOSE,
    BadSignedValue,
    sign_value,
    unsign_value,
)

SECRET = b"k" * 64
ROOT = Path(__file__).resolve().parents[2]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _library_signed(secret: bytes, purpose: str, value: object) -> str:
    """A value signed by itsdangerous itself, written without search.signing."""
    payload = base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")
    return Signer(secret, salt=purpose, digest_method=hashlib.sha256).sign(payload).decode()


@given(JSON_VALUES)
def test_round_trip(value):
    text = sign_value(SECRET, CURSOR_PURPOSE, value)
    assert unsign_value(SECRET, CURSOR_PURPOSE, text) == value
    assert text.count(".") == 1 and all(char.isalnum() or char in "-_." for char in text)


def test_cookies_and_cursors_are_itsdangerous_signatures():
    digest = hash_token("osk_example")
    cookie = _library_signed(SECRET, SESSION_PURPOSE, {"h": digest, "e": 2**40})
    assert read_session_cookie(SECRET, cookie) == digest
    cursor = encode_cursor(SECRET, "q", "pages", "date", ["2026-01-01", "u"])
    payload = Signer(SECRET, salt=CURSOR_PURPOSE, digest_method=hashlib.sha256).unsign(cursor)
    assert json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))["a"] == ["2026-01-01", "u"]


def test_a_cookie_is_no_cursor_and_a_cursor_no_cookie():
    cookie = make_session_cookie(SECRET, hash_token("osk_example"))
    with pytest.raises(QueryError, match="not valid"):
        decode_cursor(SECRET, cookie, "q", "pages", "relevance")
    # A cursor whose payload has the shape of a session (h, e) is still refused as a cookie.
    forged = sign_value(SECRET, CURSOR_PURPOSE, {"h": "0" * 64, "e": 2**40})
    assert read_session_cookie(SECRET, forged) is None
    assert read_session_cookie(SECRET, _library_signed(SECRET, CURSOR_PURPOSE, {"h": "0" * 64, "e": 2**40})) is None


@pytest.mark.parametrize(
    "text",
    ["", ".", "a.b", "a" * (MAX_SIGNED_CHARS + 1), "é.é", "\x00.\x00", "eyJ9.", "not-signed-at-all"],
)
def test_junk_is_refused(text):
    with pytest.raises(BadSignedValue):
        unsign_value(SECRET, SESSION_PURPOSE, text)


def test_any_altered_character_is_refused():
    text = sign_value(SECRET, SESSION_PURPOSE, {"h": "a" * 64, "e": 1})
    for position in range(len(text)):
        altered = text[:position] + ("B" if text[position] != "B" else "C") + text[position + 1 :]
        with pytest.raises(BadSignedValue):
            unsign_value(SECRET, SESSION_PURPOSE, altered)
    with pytest.raises(BadSignedValue):
        unsign_value(b"o" * 64, SESSION_PURPOSE, text)


def test_a_session_cookie_with_a_non_integer_expiry_is_refused():
    cookie = sign_value(SECRET, SESSION_PURPOSE, {"h": "a" * 64, "e": "never"})
    assert read_session_cookie(SECRET, cookie) is None


def test_nothing_else_in_search_signs_with_hmac():
    """One signer: only search/signing.py imports a signing primitive."""
    signing_modules = {"hmac", "itsdangerous"}
    offenders = []
    for path in sorted((ROOT / "search").rglob("*.py")):
        if path.name == "signing.py" and path.parent.name == "search":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {name}" for name in names if name.split(".")[0] in signing_modules]
    assert offenders == []
