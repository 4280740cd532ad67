"""The names of the demo sites (the keys of every ``onion_hosts`` mapping).

* :data:`SITE_NAMES` -- every site, markets first, then the forum;
* :data:`MARKET_NAMES` and :data:`FORUM_NAME`;
* :data:`LOCKED_MARKET` -- the market whose listings sit behind a login
  (:mod:`harness.demo.locked_market`); the server serves it and the network
  publishes it, but it is not one of :data:`SITE_NAMES` (the demo crawl has no
  session for it); :data:`COPY_SITE_NAMES` -- a mirror of nebula-market and a phishing clone of
  old-bazaar (:mod:`harness.demo.copies`), served and published but not crawled by the tests that
  compare a crawl with the ground truth; :data:`SERVED_SITE_NAMES` is every site the server serves.

Constants only.
"""

from __future__ import annotations

OLD_BAZAAR = "old-bazaar"  # table-based, PHP-style query URLs, prices in USD
NEBULA = "nebula-market"  # cards and grids, JSON-LD and microdata, prices in EUR
TUNDRA = "tundra-shop"  # definition lists with odd labels, Cyrillic, prices in XMR/BTC
FORUM_NAME = "hush-forum"  # boards, threads, bare onion addresses in text

MARKET_NAMES: tuple[str, ...] = (OLD_BAZAAR, NEBULA, TUNDRA)
SITE_NAMES: tuple[str, ...] = (*MARKET_NAMES, FORUM_NAME)
LOCKED_MARKET = "vault-market"  # listings behind a login form with a CAPTCHA and expiring sessions
# Copies of two markets on other onions (harness.demo.copies): a mirror, and a phishing clone.
MIRROR_SITE = "nebula-mirror"
CLONE_SITE = "bazaar-clone"
COPY_SITE_NAMES: tuple[str, ...] = (MIRROR_SITE, CLONE_SITE)
SERVED_SITE_NAMES: tuple[str, ...] = (*SITE_NAMES, LOCKED_MARKET, *COPY_SITE_NAMES)
