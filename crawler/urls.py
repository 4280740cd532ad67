"""URL rules of the crawl: canonical form, onion host, and what may be fetched.

* :func:`canonical_url` -- the form a page's ``_id`` is derived from, so that
  ``http://X.onion:80/a?b=2&a=1#top`` and ``http://x.onion/a?a=1&b=2`` are one page.
* :func:`onion_host` -- the ``<56 chars>.onion`` host of a URL (subdomains folded), or None.
* :func:`is_media_url` -- True for URLs whose path names an image, video, audio or
  archive file; the crawl never requests those.

Pure functions; they raise nothing for odd input (they return the input or None).
"""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Never fetched: investigators must not download media (images can be illegal
# material) and archives can be hostile.
MEDIA_EXTENSIONS = frozenset(
    """
    jpg jpeg png gif bmp webp svg ico tif tiff heic avif
    mp4 m4v mov avi mkv webm flv wmv mpg mpeg 3gp
    mp3 m4a ogg oga wav flac aac opus
    zip rar 7z tar gz tgz bz2 xz zst iso dmg exe msi apk jar
    pdf doc docx xls xlsx ppt pptx odt ods
    woff woff2 ttf otf eot
    """.split()
)


def canonical_url(url: str) -> str:
    """The canonical form of ``url``: lower-case scheme and host, no default port,
    no fragment, sorted query arguments, percent-encoding normalised."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port is not None else None
    if (scheme, port) in (("http", 80), ("https", 443)):
        port = None
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path or "/"
    rebuilt = urlunsplit((scheme, netloc, path, parts.query, ""))
    return canonicalize_url(rebuilt, keep_fragments=False)


def onion_host(url: str) -> str | None:
    """The onion service host of ``url`` (``sub.x.onion`` -> ``x.onion``), or None."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    if not host.endswith(".onion"):
        return None
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 and labels[-2] else None


def is_media_url(url: str) -> bool:
    """True when the URL's path ends in a media or archive extension."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    extension = posixpath.splitext(path.lower())[1].lstrip(".")
    return extension in MEDIA_EXTENSIONS
