"""URL paths of the demo sites: one place that says where each page lives.

Each site has its own URL style on purpose (PHP query strings, directory
paths with ``/page/N/``, ``?page=N`` with relative links, ``.html`` files), so
the crawler's URL handling meets several shapes.  Every path here is already in
the canonical form :func:`crawler.urls.canonical_url` produces (sorted query
arguments, no fragment, ASCII only).

Public API: :func:`file_for_target` (URL -> file name, shared with the server),
:func:`category_slug`, :func:`category_path`, :func:`listing_path`,
:func:`listing_reviews_path`, :func:`vendor_path`, :func:`listing_image_path`,
:func:`board_path`,
:func:`thread_path`, :func:`user_path`, :func:`absolute_url`.  Pure functions;
unknown site names raise KeyError.
"""

from __future__ import annotations

import re

from harness.demo.site_names import NEBULA, OLD_BAZAAR, TUNDRA

_CYRILLIC_CATEGORY_SLUGS = {
    "Стимуляторы": "stimulants",
    "Опиоиды": "opioids",
    "Синтетика": "synthetics",
    "Психоделики": "psychedelics",
    "Разное": "misc",
}


def category_slug(label: str) -> str:
    """ASCII slug of a category label (``NPS & Research`` -> ``nps-research``)."""
    if label in _CYRILLIC_CATEGORY_SLUGS:
        return _CYRILLIC_CATEGORY_SLUGS[label]
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def category_path(site: str, categories: list[str], label: str, page: int = 1) -> str:
    """Path of page ``page`` (1-based) of a category listing."""
    if site == OLD_BAZAAR:
        category_id = categories.index(label) + 1
        return f"/category.php?id={category_id}" + (f"&page={page}" if page > 1 else "")
    if site == NEBULA:
        base = f"/c/{category_slug(label)}/"
        return base if page == 1 else f"{base}page/{page}/"
    if site == TUNDRA:
        base = f"/section/{category_slug(label)}/"
        return base if page == 1 else f"{base}?page={page}"
    raise KeyError(site)


def listing_path(site: str, listing_id: str) -> str:
    return {
        OLD_BAZAAR: f"/listing.php?id={listing_id}",
        NEBULA: f"/product/{listing_id}/",
        TUNDRA: f"/item/{listing_id}.html",
    }[site]


def listing_reviews_path(site: str, listing_id: str) -> str:
    if site != OLD_BAZAAR:
        raise KeyError(site)
    return f"/listing.php?id={listing_id}&tab=reviews"


def vendor_path(site: str, slug: str) -> str:
    return {
        OLD_BAZAAR: f"/vendor.php?name={slug}",
        NEBULA: f"/vendor/{slug}/",
        TUNDRA: f"/shop/{slug}/",
    }[site]


def listing_image_path(site: str, listing_id: str) -> str:
    return {
        OLD_BAZAAR: f"/images/listings/{listing_id}.jpg",
        NEBULA: f"/media/{listing_id}.jpg",
        TUNDRA: f"/img/{listing_id}.jpg",
    }[site]


def board_path(slug: str, page: int = 1) -> str:
    base = f"/forum/{slug}/"
    return base if page == 1 else f"{base}page/{page}/"


def thread_path(thread_id: int, slug: str, page: int = 1) -> str:
    base = f"/thread/{thread_id}-{slug}.html"
    return base if page == 1 else f"{base}?page={page}"


def user_path(name: str) -> str:
    return f"/user/{name}/"


def absolute_url(onion_host: str, path: str) -> str:
    """``http://<host>`` + path: the canonical URL of a page."""
    return f"http://{onion_host}{path}"


_SAFE_QUERY = re.compile(r"^[A-Za-z0-9_.=&-]{1,200}$")
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9_.@-]{1,120}$")


def file_for_target(path: str, query: str = "") -> str | None:
    """The file (relative to a site's directory) that serves ``path`` + ``query``, or None.

    ``/`` -> ``index.html``; ``/a/`` -> ``a/index.html``; ``/a.php`` + ``id=7``
    -> ``a.php?id=7``.  None for anything that could leave the directory or
    that the generator never makes: empty, dot or dot-dot segments, characters
    outside ``[A-Za-z0-9_.@-]`` in a segment (so no ``%``, ``\\``, NUL), or a
    query with characters outside ``[A-Za-z0-9_.=&-]``.
    """
    if not path.startswith("/"):
        return None
    segments = path[1:].split("/")
    if segments[-1] == "":
        segments[-1] = "index.html"
    for segment in segments:
        if not _SAFE_SEGMENT.match(segment) or segment.startswith("."):
            return None
    if query:
        if not _SAFE_QUERY.match(query):
            return None
        segments[-1] += "?" + query
    return "/".join(segments)
