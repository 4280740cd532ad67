"""The demo's locked market: its pages, its ground truth and its expiring sessions (no server, no tor)."""

from __future__ import annotations

from pathlib import Path

from crawler.extractors.login_wall import detect_login_wall, is_login_url
from harness.demo.locked_market import LoginGate, generate_locked_market
from harness.demo.site_names import LOCKED_MARKET, SERVED_SITE_NAMES, SITE_NAMES

HOST = "v" * 52 + "abcd.onion"


def test_pages_and_ground_truth_are_deterministic(tmp_path: Path) -> None:
    first = generate_locked_market(7, HOST, tmp_path / "a")
    second = generate_locked_market(7, HOST, tmp_path / "b")
    assert first == second
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert len(first["listings"]) == len({item["title"] for item in first["listings"]}) >= 5
    assert first["gated_pages"] and first["public_pages"] == [f"http://{HOST}/"]
    assert LOCKED_MARKET in SERVED_SITE_NAMES and LOCKED_MARKET not in SITE_NAMES


def test_its_login_page_is_a_wall_and_its_listings_are_content(tmp_path: Path) -> None:
    truth = generate_locked_market(7, HOST, tmp_path)
    site = tmp_path / "sites" / LOCKED_MARKET
    assert detect_login_wall((site / "login.html").read_bytes()) == "password-form"
    content = [path for path in site.rglob("*.html") if path.name != "login.html"]
    assert content and [detect_login_wall(path.read_bytes()) for path in content] == [None] * len(content)
    assert is_login_url(truth["login_url"])


def test_sessions_need_the_captcha_and_expire() -> None:
    now = [1000.0]
    credentials = {"username": "u", "password": "p", "captcha": "AB12C"}
    gate = LoginGate(credentials, session_ttl=60, clock=lambda: now[0])
    assert gate.log_in("u", "p", "WRONG") is None and gate.log_in("u", "x", "AB12C") is None
    token = gate.log_in("u", "p", "ab12c")
    assert token and gate.valid(token)
    now[0] += 59
    assert gate.valid(token)
    now[0] += 1
    assert not gate.valid(token)  # expired
    other = gate.log_in("u", "p", "AB12C")
    gate.log_out(other)
    assert not gate.valid(other) and not gate.valid(None)
    third = gate.log_in("u", "p", "AB12C")
    gate.expire_all()
    assert not gate.valid(third)
    assert LoginGate(None).log_in("u", "p", "AB12C") is None
