"""The demo's locked market: a small shop whose listings sit behind a login with a CAPTCHA.

Its home page is public and shows teaser links to every listing; every other
page wants a logged-in session.  Without one the server answers
``302 Location: /login?next=<path>``; the login page is a form with a user
name, a password and a CAPTCHA image (the demo's CAPTCHA answer is in the
ground truth: the test plays the human).  A successful ``POST /login`` sets
the session cookie :data:`SESSION_COOKIE` (host-only, HttpOnly); a session
ends after ``session_ttl`` seconds or at ``GET /logout`` -- either way the
cookie an investigator exported earlier is then expired, and the listings
redirect to the login again.

The listing pages publish schema.org ``Product`` JSON-LD (no market profile
is needed to read them).  The ground truth is written from the generator's
own data, never from an extractor.

Public API:

* :data:`LOCKED_MARKET` (the site name, re-exported from
  :mod:`harness.demo.site_names`), :data:`SESSION_COOKIE`;
* :func:`generate_locked_market` ``(seed, onion_host, out_dir) -> dict`` -- writes
  the pages under ``<out_dir>/sites/vault-market/`` and returns the site's ground truth::

    {onion_host, home_url, login_url, market_url,
     public_pages: [url], gated_pages: [url],
     credentials: {username, password, captcha},
     listings: [{listing_id, url, title, price_amount, price_currency, vendor}]}

* :class:`LoginGate` ``(credentials, session_ttl=3600, clock=time.monotonic)`` -- the
  server's session store: :meth:`~LoginGate.log_in`, :meth:`~LoginGate.valid`,
  :meth:`~LoginGate.log_out`, :meth:`~LoginGate.expire_all`; thread-safe.

Raises OSError when ``out_dir`` cannot be written; nothing else.
"""

from __future__ import annotations

import hashlib
import html
import json
import random
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable

from harness.demo.paths import absolute_url
from harness.demo.site_names import LOCKED_MARKET

SESSION_COOKIE = "vault_sid"
LISTING_COUNT = 9
_ADJECTIVES = ("Pure", "Crystal", "Premium", "Lab-tested", "Uncut", "Swiss", "Dutch", "Clean", "Fresh")
_ITEMS = ("MDMA 1g", "Ketamine 2g", "LSD 10 tabs", "2C-B 5 pills", "Cocaine 1g", "Mephedrone 5g",
          "Psilocybin 3.5g", "Amphetamine 10g", "Xanax 20 pills")
_VENDORS = ("quietfox", "nordlab", "harbourchem", "mistral")

__all__ = ["LOCKED_MARKET", "LoginGate", "SESSION_COOKIE", "generate_locked_market"]


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>\n"
            f"<body><div id=\"top\"><a href=\"/\">Vault Market</a> | <a href=\"/market/\">Market</a> | "
            f"<a href=\"/login\">Log in</a> | <a href=\"/logout\">Log out</a></div>\n{body}\n</body></html>\n")


def _listing_path(listing_id: str) -> str:
    return f"/listing/{listing_id}.html"


def generate_locked_market(seed: int, onion_host: str, out_dir: Path) -> dict[str, Any]:
    """Write the locked market's pages for ``onion_host``; return its ground truth (module docstring)."""
    rng = random.Random(f"{seed}:{LOCKED_MARKET}")
    digest = hashlib.sha256(f"{seed}:{LOCKED_MARKET}:credentials".encode()).hexdigest()
    credentials = {"username": "investigator", "password": "pw-" + digest[:12], "captcha": digest[12:17].upper()}
    listings = []
    for number in range(1, LISTING_COUNT + 1):
        listing_id = f"v{number:03d}"
        title = f"{_ADJECTIVES[(number - 1) % len(_ADJECTIVES)]} {_ITEMS[(number - 1) % len(_ITEMS)]} vault lot {number}"
        listings.append({
            "listing_id": listing_id,
            "url": absolute_url(onion_host, _listing_path(listing_id)),
            "title": title,
            "price_amount": float(rng.randrange(20, 400)),
            "price_currency": "USD",
            "vendor": rng.choice(_VENDORS),
        })
    site = Path(out_dir) / "sites" / LOCKED_MARKET
    (site / "listing").mkdir(parents=True, exist_ok=True)
    (site / "market").mkdir(parents=True, exist_ok=True)
    teasers = "".join(f"<li><a href=\"{_listing_path(item['listing_id'])}\">Members only: lot {item['listing_id']}</a></li>"
                      for item in listings)
    (site / "index.html").write_text(_page("Vault Market", (
        "<h1>Vault Market</h1><p>Welcome. Listings are visible to members only: log in to see them.</p>"
        f"<ul class=\"teasers\">{teasers}</ul>")), encoding="utf-8")
    rows = "".join(f"<tr><td><a href=\"{_listing_path(item['listing_id'])}\">{html.escape(item['title'])}</a></td>"
                   f"<td>{item['price_amount']:.2f} USD</td></tr>" for item in listings)
    (site / "market" / "index.html").write_text(_page("Vault Market - all listings", (
        f"<h1>All listings</h1><table class=\"listings\">{rows}</table>")), encoding="utf-8")
    for item in listings:
        product = {
            "@context": "https://schema.org", "@type": "Product", "name": item["title"], "sku": item["listing_id"],
            "offers": {"@type": "Offer", "price": f"{item['price_amount']:.2f}", "priceCurrency": "USD",
                       "seller": {"@type": "Person", "name": item["vendor"]}},
        }
        (site / "listing" / f"{item['listing_id']}.html").write_text(_page(f"{item['title']} - Vault Market", (
            f"<script type=\"application/ld+json\">{json.dumps(product)}</script>"
            f"<h1>{html.escape(item['title'])}</h1>"
            f"<dl><dt>Price</dt><dd class=\"price\">{item['price_amount']:.2f} USD</dd>"
            f"<dt>Vendor</dt><dd>{html.escape(item['vendor'])}</dd></dl>"
            "<p>Stealth shipping, escrow only. Members' prices.</p>")), encoding="utf-8")
    (site / "login.html").write_text(_page("Vault Market - Log in", (
        "<h1>Log in</h1><form action=\"/login\" method=\"post\">"
        "<input type=\"hidden\" name=\"next\" value=\"/\">"
        "<input type=\"text\" name=\"username\" placeholder=\"Username\">"
        "<input type=\"password\" name=\"password\" placeholder=\"Password\">"
        "<img class=\"captcha\" src=\"/captcha.jpg\" alt=\"Captcha\">"
        "<input type=\"text\" name=\"captcha\" placeholder=\"Captcha code\">"
        "<input type=\"submit\" value=\"Log in\"></form>")), encoding="utf-8")
    home = absolute_url(onion_host, "/")
    market = absolute_url(onion_host, "/market/")
    return {
        "onion_host": onion_host,
        "home_url": home,
        "login_url": absolute_url(onion_host, "/login"),
        "market_url": market,
        "public_pages": [home],
        "gated_pages": sorted([market, *(item["url"] for item in listings)]),
        "credentials": credentials,
        "listings": listings,
    }


class LoginGate:
    """The locked market's sessions: tokens that expire after ``session_ttl`` seconds or at logout."""

    def __init__(self, credentials: dict[str, str] | None, session_ttl: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.credentials = credentials
        self.session_ttl = session_ttl
        self._clock = clock
        self._sessions: dict[str, float] = {}
        self._lock = threading.Lock()

    def log_in(self, username: str, password: str, captcha: str) -> str | None:
        """A new session token for the right user name, password and CAPTCHA answer; None otherwise."""
        expected = self.credentials
        if not expected or (username, password, captcha.strip().upper()) != (
                expected["username"], expected["password"], expected["captcha"]):
            return None
        token = secrets.token_hex(16)
        with self._lock:
            self._sessions[token] = self._clock() + self.session_ttl
        return token

    def valid(self, token: str | None) -> bool:
        """True while ``token`` is a session that has not expired or logged out."""
        if not token:
            return False
        with self._lock:
            expires = self._sessions.get(token)
            if expires is None:
                return False
            if expires <= self._clock():
                del self._sessions[token]
                return False
            return True

    def log_out(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def expire_all(self) -> None:
        """End every session now (as a market does when it rotates its keys)."""
        with self._lock:
            self._sessions.clear()
