"""Login attempts per client address: the sliding window, and the app's 429 (without Elasticsearch)."""

from __future__ import annotations

import re
import socket

from fastapi.testclient import TestClient

from config.settings import load_settings
from search.api import create_app

HTML = {"accept": "text/html,application/xhtml+xml"}


def test_the_window_slides_and_a_refused_attempt_is_not_counted():
    from search.api.login_limit import LoginLimiter

    now = [1000.0]
    limiter = LoginLimiter(3, 60, clock=lambda: now[0])
    assert [limiter.attempt("10.0.0.1") for _ in range(3)] == [None, None, None]
    assert limiter.attempt("10.0.0.1") == 60
    assert limiter.attempt("10.0.0.2") is None  # per address
    now[0] += 30
    assert limiter.attempt("10.0.0.1") == 30  # refused, and not counted
    now[0] += 30
    assert limiter.attempt("10.0.0.1") is None  # the first three are 60 s old
    assert limiter.attempt("10.0.0.1") is None
    assert limiter.attempt("10.0.0.1") is None
    assert limiter.attempt("10.0.0.1") == 60


def test_memory_is_bounded_by_the_number_of_addresses():
    from search.api.login_limit import LoginLimiter

    now = [0.0]
    limiter = LoginLimiter(2, 60, max_addresses=100, clock=lambda: now[0])
    for number in range(10_000):
        limiter.attempt(f"10.{number // 65536}.{number // 256 % 256}.{number % 256}")
        now[0] += 0.001
    assert limiter.tracked() <= 100
    # The newest addresses are the ones kept.
    limiter.attempt("10.0.39.15")
    assert limiter.attempt("10.0.39.15") == 60


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _settings(tmp_path, **overrides):
    return load_settings(environ={}).replace(
        var_dir=str(tmp_path), es_url=f"http://127.0.0.1:{_closed_port()}", es_timeout=2, **overrides)


def _attempt(http: TestClient, headers: dict[str, str] | None = None, accept: dict[str, str] = HTML):
    page = http.get("/login", headers=HTML)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    csrf = form_token.group(1) if form_token else ""
    return http.post("/login", data={"token": "osk_guess", "csrf_token": csrf}, headers={**accept, **(headers or {})},
                     follow_redirects=False)


def test_the_eleventh_login_attempt_in_a_minute_is_a_clear_429(tmp_path):
    with TestClient(create_app(_settings(tmp_path))) as http:
        # Elasticsearch is down: each allowed attempt gets as far as the token lookup (503).
        assert [_attempt(http).status_code for _ in range(10)] == [503] * 10
        refused = _attempt(http)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "too many login attempts" in refused.text and "login_attempts_per_window" in refused.text
        assert 'name="token"' in refused.text  # the login form again, with the reason
        as_json = _attempt(http, accept={"accept": "application/json"})
        assert as_json.status_code == 429 and as_json.json()["retry_after"] >= 1


def test_behind_a_trusted_proxy_the_forwarded_address_counts_and_nobody_else_s(tmp_path):
    settings = _settings(tmp_path, trusted_proxies="10.9.9.9", login_attempts_per_window=2)
    with TestClient(create_app(settings), client=("10.9.9.9", 40000)) as proxy:
        for client_ip in ("198.51.100.1", "198.51.100.2"):
            forwarded = {"x-forwarded-for": client_ip}
            assert [_attempt(proxy, forwarded).status_code for _ in range(3)] == [503, 503, 429], client_ip
    with TestClient(create_app(settings), client=("203.0.113.7", 40000)) as stranger:
        # An untrusted peer's X-Forwarded-For is ignored: a new header each time does not buy new attempts.
        codes = [_attempt(stranger, {"x-forwarded-for": f"198.51.100.{n}"}).status_code for n in range(3)]
        assert codes == [503, 503, 429]
