"""The site types: what kind of site a page or an onion is, as one table of values and labels.

The classifier (:mod:`crawler.extractors.site_type`) gives one of these values to
every page, the post-crawl step (:mod:`pipelines.onion_sites`) to every onion;
``type:VALUE`` searches them and the ``site_type`` facet counts them.

Public API: :data:`SITE_TYPES` (value -> label, in the order shown), :data:`OTHER`,
:func:`site_type_from_input` (what a person typed -> a value, or the text as typed).

Data only.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

OTHER = "other"
SITE_TYPES: Mapping[str, str] = MappingProxyType({
    "market": "market",
    "vendor-shop": "vendor shop",
    "forum": "forum",
    "link-list": "paste or link list",
    "login-wall": "login or CAPTCHA wall",
    "directory": "wiki or directory",
    OTHER: "other",
})
# Short words people type for a value: type:login, type:shop, type:paste, type:wiki.
_TYPED = {"login": "login-wall", "captcha": "login-wall", "shop": "vendor-shop", "vendor": "vendor-shop",
          "paste": "link-list", "links": "link-list", "wiki": "directory"}


def site_type_from_input(text: str) -> str:
    """``"Forum"`` -> ``"forum"``, ``"login"`` -> ``"login-wall"``; an unknown word comes back lower-cased."""
    value = text.strip().lower().replace("_", "-").replace(" ", "-")
    return value if value in SITE_TYPES else _TYPED.get(value, value)
