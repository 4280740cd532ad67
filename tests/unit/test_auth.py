"""Session cookies and token helpers (the pure parts; tests/integration/test_api.py covers the index)."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import stat

import pytest

import search.auth
from config.errors import UserError
from search.auth import (
    TokenCache,
    TokenRecord,
    clean_name,
    hash_token,
    load_session_secret,
    make_session_cookie,
    read_session_cookie,
)

SECRET = b"k" * 64


def test_session_cookie_round_trip_and_rejections():
    digest = hash_token("osk_example")
    cookie = make_session_cookie(SECRET, digest)
    assert read_session_cookie(SECRET, cookie) == digest
    assert read_session_cookie(b"other" * 10, cookie) is None
    assert read_session_cookie(SECRET, make_session_cookie(SECRET, digest, lifetime=-1)) is None
    payload, signature = cookie.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"h": "0" * 64, "e": 2**40}).encode()).decode().rstrip("=")
    assert read_session_cookie(SECRET, forged + "." + signature) is None
    for junk in ("", ".", "a.b", "%%%.%%%", cookie + "x"):
        assert read_session_cookie(SECRET, junk) is None


def test_cookie_never_contains_the_token():
    token = "osk_" + "z" * 43
    cookie = make_session_cookie(SECRET, hash_token(token))
    decoded = base64.urlsafe_b64decode(cookie.split(".")[0] + "==")
    assert token.encode() not in decoded


def test_clean_name_drops_controls_and_caps():
    assert clean_name("ana\x1b[31m\n") == "ana[31m"
    assert len(clean_name("x" * 500)) == 100


def test_session_secret_is_created_private_and_stable(tmp_path):
    settings = {"var_dir": tmp_path, "session_secret_file": None}
    first = load_session_secret(settings)
    path = tmp_path / "session_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_session_secret(settings) == first and len(first) >= 32


def test_session_secret_file_setting_moves_it(tmp_path):
    target = tmp_path / "secrets" / "onionscope.key"
    secret = load_session_secret({"var_dir": tmp_path / "var", "session_secret_file": target})
    assert target.read_bytes().strip() == secret
    assert not (tmp_path / "var" / "session_secret").exists()


@pytest.mark.parametrize("content", [b"", b"\n", b"   \n", b"short-secret\n", b"x" * 31])
def test_empty_or_short_session_secret_is_refused(tmp_path, content):
    target = tmp_path / "onionscope.key"
    target.write_bytes(content)
    with pytest.raises(UserError) as raised:
        load_session_secret({"var_dir": tmp_path, "session_secret_file": target})
    message = str(raised.value)
    assert str(target) in message and "session_secret_file" in message and "32" in message
    assert target.read_bytes() == content  # never silently replaced


def test_a_long_enough_secret_someone_wrote_is_used(tmp_path):
    target = tmp_path / "onionscope.key"
    target.write_bytes(b"y" * 32 + b"\n")
    assert load_session_secret({"var_dir": tmp_path, "session_secret_file": target}) == b"y" * 32


def test_session_secret_never_appears_at_its_path_before_it_is_complete(tmp_path, monkeypatch):
    """Whoever reads the path (another server starting) sees no file or the whole secret, never an empty file."""
    path = tmp_path / "session_secret"
    seen_while_writing = []
    real_fdopen = os.fdopen

    def watching_fdopen(descriptor, *args, **kwargs):
        seen_while_writing.append(path.exists() and path.read_bytes())
        return real_fdopen(descriptor, *args, **kwargs)

    monkeypatch.setattr(search.auth.os, "fdopen", watching_fdopen)
    secret = load_session_secret({"var_dir": tmp_path, "session_secret_file": None})
    assert seen_while_writing == [False]
    assert path.read_bytes().strip() == secret and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == ["session_secret"]  # no temporary left behind


def _load_after(barrier, var_dir, answers):
    barrier.wait()
    try:
        answers.put(load_session_secret({"var_dir": var_dir, "session_secret_file": None}))
    except Exception as exc:  # noqa: BLE001 -- the parent asserts on it
        answers.put(repr(exc))


def test_servers_starting_together_share_one_secret(tmp_path):
    context = multiprocessing.get_context("fork")
    starters = 8
    barrier, answers = context.Barrier(starters), context.Queue()
    processes = [context.Process(target=_load_after, args=(barrier, tmp_path, answers)) for _ in range(starters)]
    for process in processes:
        process.start()
    results = [answers.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(30)
    assert len(set(results)) == 1, results
    assert results[0] == (tmp_path / "session_secret").read_bytes().strip() and len(results[0]) >= 32


def _record(token_id: str, revoked_at: str | None = None) -> TokenRecord:
    return TokenRecord(token_id=token_id, name="n", role="viewer", created_at="2026-01-01T00:00:00Z",
                       revoked_at=revoked_at)


def test_token_cache_keeps_active_tokens_for_its_ttl_only():
    now = [100.0]
    cache = TokenCache(5, max_entries=2, clock=lambda: now[0])
    cache.put("a" * 64, _record("aaaa"))
    cache.put("b" * 64, _record("bbbb", revoked_at="2026-01-02T00:00:00Z"))  # revoked: never cached
    assert cache.get("a" * 64).token_id == "aaaa" and cache.get("b" * 64) is None
    now[0] += 4.99
    assert cache.get("a" * 64) is not None
    now[0] += 0.02
    assert cache.get("a" * 64) is None


def test_token_cache_discard_bound_and_off_switch():
    cache = TokenCache(5, max_entries=2)
    cache.put("a" * 64, _record("aaaa"))
    cache.put("c" * 64, _record("cccc"))
    cache.discard("aaaa")
    assert cache.get("a" * 64) is None and cache.get("c" * 64) is not None
    cache.put("d" * 64, _record("dddd"))
    cache.put("e" * 64, _record("eeee"))  # over the bound: the oldest entry goes
    assert cache.get("c" * 64) is None and cache.get("e" * 64) is not None
    off = TokenCache(0)
    off.put("a" * 64, _record("aaaa"))
    assert off.get("a" * 64) is None


def _expiring(expires_at: str | None) -> TokenRecord:
    return TokenRecord(token_id="ffff", name="n", role="viewer", created_at="2026-01-01T00:00:00Z",
                       expires_at=expires_at)


def test_a_token_past_its_expiry_is_not_active_and_a_damaged_expiry_fails_closed():
    from datetime import datetime, timedelta, timezone

    def at(delta: timedelta) -> str:
        return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert _expiring(None).active
    assert _expiring(at(timedelta(hours=1))).active
    assert not _expiring(at(timedelta(seconds=-1))).active
    for damaged in ("tomorrow", "", "2026-13-45T00:00:00Z"):
        assert not _expiring(damaged).active, damaged


def test_the_token_cache_never_answers_with_a_token_that_expired_while_cached(monkeypatch):
    from datetime import datetime, timedelta, timezone

    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cache = TokenCache(300)
    cache.put("a" * 64, _expiring(soon))
    assert cache.get("a" * 64) is not None

    class ThreeSecondsLater(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(seconds=3)

    monkeypatch.setattr(search.auth, "datetime", ThreeSecondsLater)
    assert cache.get("a" * 64) is None


@pytest.mark.parametrize("days", [0, -1, 0.0001, 3651])
def test_a_token_expiry_outside_a_minute_to_ten_years_is_refused(days):
    with pytest.raises(UserError, match="expires between"):
        search.auth.create_token(None, "p", "viewer", "n", expires_in_days=days)
