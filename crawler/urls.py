"""URL rules of the crawl: canonical form, onion host, and what may be fetched.

* :func:`canonical_url` -- the form a page's ``_id`` is derived from, so that
  ``http://X.onion:80/a?b=2&a=1#top`` and ``http://x.onion/a?a=1&b=2`` are one page.
* :func:`onion_host` -- the ``<56 chars>.onion`` host of a URL (subdomains folded,
  by the index schema's rule :func:`config.schema.onion_service_host`), or None.
* :func:`is_media_url` -- True for URLs whose path names an image, video, audio or
  archive file; the crawl never requests those.
* :func:`host_kind` -- what a URL's host is: an onion service, an IP literal (in any
  spelling a resolver accepts), a local name, a clearnet name, or not a usable host.
  :mod:`crawler.middlewares.crawl_scope` decides from it what a crawl may request.
* :func:`site_host` -- the host a crawl counts pages against: the onion service for
  onions (subdomains folded), the lower-case host name otherwise.

Pure functions; they raise nothing for odd input (they return the input or None).
"""

from __future__ import annotations

import functools

import ipaddress
import posixpath
import re
import socket
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from config.schema import onion_service_host

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


@functools.lru_cache(maxsize=4096)
def canonical_url(url: str) -> str:
    """The canonical form of ``url``: lower-case scheme and host, no default port,
    no fragment, sorted query arguments, percent-encoding normalised.

    Raises ValueError for a URL urllib cannot split (a bad port).  Cached
    (4096 URLs): a crawled page's URL is canonicalised by the journal, the
    freshness records, the deduplication and the extraction, each on its own.
    """
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
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    return onion_service_host(host)


def is_media_url(url: str) -> bool:
    """True when the URL's path ends in a media or archive extension."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    extension = posixpath.splitext(path.lower())[1].lstrip(".")
    return extension in MEDIA_EXTENSIONS


# host_kind() answers one of these.
HOST_ONION = "onion"
HOST_CLEARNET = "clearnet"
HOST_IP_LITERAL = "ip_literal"
HOST_LOCAL_NAME = "local_name"
HOST_INVALID = "invalid_host"

# Names that never denote a public site: special-use and private-use suffixes
# (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal) and common LAN suffixes.
_LOCAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "lan", "home.arpa", "invalid", "test", "example")
_HOST_CHARACTERS = re.compile(r"[a-z0-9._-]+")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")


def host_kind(url: str) -> str:
    """The kind of host ``url`` names, one of the ``HOST_*`` constants.

    * ``HOST_IP_LITERAL`` -- IPv6 (zone ids too) and IPv4 in every form a resolver
      accepts (``127.1``, ``0x7f.0.0.1``, ``2130706433``), and any name whose last
      label is a number, which browsers parse as IPv4;
    * ``HOST_ONION`` -- ``<label>.onion`` and its subdomains;
    * ``HOST_LOCAL_NAME`` -- ``localhost``, single-label names and special-use or LAN
      suffixes (``.local``, ``.internal``, ``.home.arpa``, ...);
    * ``HOST_INVALID`` -- no host, an unparseable URL, a trailing dot (``x.onion.``
      would reach tor as a DNS name, not as an onion), or characters no host name has;
    * ``HOST_CLEARNET`` -- any other DNS name.

    Pure: nothing is resolved.  Never raises.
    """
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return HOST_INVALID
    if not host:
        return HOST_INVALID
    return _kind_of_host(host.lower())


# Per host, not per URL: a crawl asks about every link of every page, of a few hosts (pure, so cached).
@functools.lru_cache(maxsize=4096)
def _kind_of_host(host: str) -> str:
    if ":" in host:  # only a bracketed IPv6 literal has a colon in its host
        return HOST_IP_LITERAL
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return HOST_INVALID
    if host.endswith(".") or not _HOST_CHARACTERS.fullmatch(host) or "" in host.split("."):
        return HOST_INVALID
    if _is_ipv4_literal(host):
        return HOST_IP_LITERAL
    if host.endswith(".onion"):
        return HOST_ONION
    if "." not in host or host.endswith(tuple(f".{suffix}" for suffix in _LOCAL_SUFFIXES)) or host in _LOCAL_SUFFIXES:
        return HOST_LOCAL_NAME
    return HOST_CLEARNET


def _is_ipv4_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(host)  # pure parsing: accepts 127.1, 0x7f.1, 2130706433
        return True
    except OSError:
        pass
    return bool(_NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]))


def site_host(url: str) -> str | None:
    """The host pages of ``url`` are counted against: its onion service, else its lower-case host name.

    Returns None when ``url`` has no host.  Never raises.
    """
    folded = onion_host(url)
    if folded:
        return folded
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.lower() if host else None
