"""Per-site login sessions: the cookies and headers an investigator exported from Tor Browser.

A session file gives, per onion host, the cookies (and, rarely, headers such as
``Authorization``) of a logged-in browser session, so a crawl can reach the
part of a market that sits behind its login.  Two formats are read:

* the Netscape ``cookies.txt`` format that browser cookie-export add-ons write
  (tab-separated ``domain, include-subdomains, path, secure, expiry, name,
  value``; ``#HttpOnly_`` before a domain marks an HttpOnly cookie, other ``#``
  lines are comments);
* a YAML (or JSON, which YAML reads too) mapping::

    sites:
      <56 base32 characters>.onion:
        cookies:
          session_id: "value"                       # or {value: ..., path: /, expires: <unix time>}
        headers:
          Authorization: "Basic ..."

Every value read here is a secret: it is held in a :class:`Secret`, whose
``repr`` and ``str`` are ``'***'``, and no error message quotes it (file and
line, the key and what is wrong, never the value).  That is also why the
standard library's ``http.cookiejar.MozillaCookieJar`` is not used: its
load errors quote the offending line, value included.

Only v3 onion hosts may have a session (never a clearnet host, which a crawl
reaches through exit relays that see the traffic).
:class:`crawler.middlewares.cookies.OfflineCookiesMiddleware` sends a site's
cookies and headers to that host only.

Public API:

* :func:`load_sessions` ``(path, now=None) -> SessionConfig``; raises
  :class:`SessionFileError` (a :class:`config.errors.UserError`) naming the
  file, the line and the key;
* :class:`SessionConfig` -- ``sites`` (host -> :class:`SiteSession`),
  :meth:`SessionConfig.for_host`, ``hosts``;
* :class:`SiteSession` -- ``host``, ``cookies`` (:class:`SessionCookie`), ``headers``;
* :class:`Secret` -- a value that never shows itself; :meth:`Secret.reveal`;
* :func:`describe` ``(config) -> str`` -- the hosts and how many cookies and headers each has.

Reads only the file it is given; no network.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

from config.errors import UserError
from config.i18n import _
from config.os_reasons import os_reason
from config.located_yaml import yaml_problem

_V3_ONION_HOST = re.compile(r"[a-z2-7]{56}\.onion")
# RFC 9110 token characters: a header or cookie name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers a session may not set: the transport and the cookie jar own them.
_FORBIDDEN_HEADERS = frozenset({
    "host", "cookie", "content-length", "transfer-encoding", "connection", "proxy-authorization", "te", "upgrade",
})
_SITE_KEYS = ("cookies", "headers")
_COOKIE_KEYS = ("value", "path", "expires")
MAX_FILE_BYTES = 1024 * 1024
MAX_VALUE_CHARS = 8192


class SessionFileError(UserError):
    """The session file is wrong; the message names the file, the line and the key (never a value)."""


class Secret:
    """A cookie or header value: shown as ``'***'`` everywhere, read only with :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the request that carries it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SessionCookie:
    """One cookie of a site's session; ``expires`` is a Unix time, None for a browser-session cookie."""

    name: str
    value: Secret
    where: str  # file:line, for messages
    path: str = "/"
    expires: int | None = None
    http_only: bool = False

    def expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now


@dataclass(frozen=True)
class SiteSession:
    """The cookies and headers sent to one onion host (and to no other)."""

    host: str
    cookies: tuple[SessionCookie, ...] = ()
    headers: tuple[tuple[str, Secret], ...] = ()


@dataclass(frozen=True)
class SessionConfig:
    """Every site's session from one file; ``source`` is the file's path."""

    source: str
    sites: Mapping[str, SiteSession] = field(default_factory=dict)

    @property
    def hosts(self) -> tuple[str, ...]:
        """The onion hosts that have a session, sorted."""
        return tuple(sorted(self.sites))

    def for_host(self, host: str | None) -> SiteSession | None:
        """The session of ``host`` (compared in lower case), or None."""
        return self.sites.get((host or "").lower())


def load_sessions(path: str | Path) -> SessionConfig:
    """The sessions in ``path``: Netscape cookies.txt, or YAML/JSON with ``sites:``.

    The format is told by the content: a file whose first non-blank line starts
    with ``#`` or holds a tab is cookies.txt, anything else YAML.  Expired
    cookies are kept (the crawl says which ones expired and does not send them).

    :raises SessionFileError: unreadable file, bad format, a host that is not a
      v3 onion host, an unknown key (with a did-you-mean hint), a bad name or a
      value with a line break -- each with ``file:line``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SessionFileError(_("session file {path}: cannot read it ({reason})", path=path,
                                 reason=os_reason(exc))) from None
    if len(data) > MAX_FILE_BYTES:
        raise SessionFileError(_("session file {path}: larger than {limit} bytes; is it a session export?", path=path,
                                 limit=MAX_FILE_BYTES))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SessionFileError(_("session file {path}: not UTF-8 text", path=path)) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.lstrip().startswith("#") or "\t" in first:
        sites = _parse_cookies_txt(text, str(path))
    else:
        sites = _parse_yaml(text, str(path))
    return SessionConfig(source=str(path), sites=sites)


# --------------------------------------------------------------------------- cookies.txt


def _parse_cookies_txt(text: str, source: str) -> dict[str, SiteSession]:
    cookies: dict[str, list[SessionCookie]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        line = raw.rstrip("\r\n")
        http_only = False
        if line.startswith("#HttpOnly_"):
            line, http_only = line[len("#HttpOnly_"):], True
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise SessionFileError(_(
                "{where}: expected 7 tab-separated fields (domain, include subdomains, path, secure, expiry, "
                "name, value) of the Netscape cookies.txt format, found {count}", where=where, count=len(fields)
            ))
        domain, _subdomains, cookie_path, _secure, expiry, name, value = fields
        host = _onion_host(domain.strip().lstrip(".").lower(), where, "domain")
        if not _TOKEN.fullmatch(name):
            raise SessionFileError(_("{where}: the cookie name is not a valid cookie name", where=where))
        cookie = SessionCookie(
            name=name, value=_secret(value, where, _("cookie {name}", name=repr(name))), where=where,
            path=_cookie_path(cookie_path.strip() or "/", where), expires=_expiry(expiry.strip(), where),
            http_only=http_only,
        )
        cookies.setdefault(host, []).append(cookie)
    if not cookies:
        raise SessionFileError(_("{source}: no cookie lines in this cookies.txt file", source=source))
    return {host: SiteSession(host=host, cookies=tuple(found)) for host, found in cookies.items()}


# --------------------------------------------------------------------------- YAML / JSON


def _parse_yaml(text: str, source: str) -> dict[str, SiteSession]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        # The problem text names the construct, not the value.
        raise SessionFileError(_("{source}: not valid YAML or JSON ({problem})", source=source + line,
                                 problem=yaml_problem(exc) if getattr(exc, "problem", None) else _("syntax")
                                 )) from None
    if root is None:
        raise SessionFileError(_("{source}: empty session file", source=source))
    top = _mapping(root, source, _("the top level"))
    sites_node = None
    for key_node, value_node in top:
        key = _key(key_node, source)
        if key != "sites":
            raise SessionFileError(_("{where}: unknown key {key}{hint}", where=_at(source, key_node), key=repr(key),
                                     hint=_hint(key, ("sites",))))
        sites_node = value_node
    if sites_node is None:
        raise SessionFileError(_("{source}: expected a 'sites:' mapping of onion host to cookies and headers",
                                 source=source))
    sites: dict[str, SiteSession] = {}
    for host_node, site_node in _mapping(sites_node, source, "'sites'"):
        where = _at(source, host_node)
        host = _onion_host(_key(host_node, source).strip().lower(), where, _("site"))
        if host in sites:
            raise SessionFileError(_("{where}: site {host} is given twice", where=where, host=host))
        cookies: list[SessionCookie] = []
        headers: list[tuple[str, Secret]] = []
        for key_node, value_node in _mapping(site_node, source, _("site {host}", host=host)):
            key = _key(key_node, source)
            if key == "cookies":
                cookies.extend(_yaml_cookies(value_node, source, host))
            elif key == "headers":
                headers.extend(_yaml_headers(value_node, source, host))
            else:
                raise SessionFileError(_("{where}: unknown key {key} for site {host}{hint}",
                                         where=_at(source, key_node), key=repr(key), host=host,
                                         hint=_hint(key, _SITE_KEYS)))
        if not cookies and not headers:
            raise SessionFileError(_("{where}: site {host} has neither cookies nor headers", where=where, host=host))
        sites[host] = SiteSession(host=host, cookies=tuple(cookies), headers=tuple(headers))
    if not sites:
        raise SessionFileError(_("{where}: 'sites' lists no site", where=_at(source, sites_node)))
    return sites


def _yaml_cookies(node: yaml.Node, source: str, host: str) -> list[SessionCookie]:
    cookies = []
    for name_node, value_node in _mapping(node, source, _("the cookies of {host}", host=host)):
        where = _at(source, name_node)
        name = _key(name_node, source)
        if not _TOKEN.fullmatch(name):
            raise SessionFileError(_("{where}: {name} is not a valid cookie name", where=where, name=repr(name)))
        path, expires = "/", None
        if isinstance(value_node, yaml.MappingNode):
            value = None
            for key_node, item_node in value_node.value:
                key = _key(key_node, source)
                item_where = _at(source, key_node)
                if key == "value":
                    value = _scalar(item_node, item_where, _("cookie {name}", name=repr(name)))
                elif key == "path":
                    path = _cookie_path(_scalar(item_node, item_where, "path"), item_where)
                elif key == "expires":
                    expires = _expiry(_scalar(item_node, item_where, "expires"), item_where)
                else:
                    raise SessionFileError(_("{where}: unknown key {key} for cookie {name}{hint}", where=item_where,
                                             key=repr(key), name=repr(name), hint=_hint(key, _COOKIE_KEYS)))
            if value is None:
                raise SessionFileError(_("{where}: cookie {name} has no 'value'", where=where, name=repr(name)))
        else:
            value = _scalar(value_node, where, _("cookie {name}", name=repr(name)))
        cookies.append(SessionCookie(name=name, value=_secret(value, where, _("cookie {name}", name=repr(name))), where=where,
                                     path=path, expires=expires))
    return cookies


def _yaml_headers(node: yaml.Node, source: str, host: str) -> list[tuple[str, Secret]]:
    headers = []
    for name_node, value_node in _mapping(node, source, _("the headers of {host}", host=host)):
        where = _at(source, name_node)
        name = _key(name_node, source)
        if not _TOKEN.fullmatch(name):
            raise SessionFileError(_("{where}: {name} is not a valid header name", where=where, name=repr(name)))
        if name.lower() in _FORBIDDEN_HEADERS:
            if name.lower() == "cookie":
                raise SessionFileError(_("{where}: a session may not set the {name} header (put cookies under "
                                         "'cookies:')", where=where, name=name))
            raise SessionFileError(_("{where}: a session may not set the {name} header", where=where, name=name))
        what = _("header {name}", name=name)
        headers.append((name, _secret(_scalar(value_node, where, what), where, what)))
    return headers


def _mapping(node: yaml.Node, source: str, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise SessionFileError(_("{where}: expected a mapping for {what}", where=_at(source, node), what=what))
    return list(node.value)


def _key(node: yaml.Node, source: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise SessionFileError(_("{where}: expected a plain key", where=_at(source, node)))
    return str(node.value)


def _scalar(node: yaml.Node, where: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        raise SessionFileError(_("{where}: {what}: expected a single value", where=where, what=what))
    return str(node.value)


def _at(source: str, node: yaml.Node) -> str:
    return f"{source}:{node.start_mark.line + 1}"


def _hint(key: str, known: tuple[str, ...]) -> str:
    matches = difflib.get_close_matches(key, known, n=1)
    if matches:
        return _(" (did you mean {hint}?)", hint=repr(matches[0]))
    return _(" (expected one of {choices})", choices=", ".join(known))


# --------------------------------------------------------------------------- shared checks


def _onion_host(host: str, where: str, what: str) -> str:
    if not _V3_ONION_HOST.fullmatch(host):
        raise SessionFileError(_(
            "{where}: {what} {host} is not a v3 onion host (56 base32 characters, then .onion); "
            "sessions are for onion sites only", where=where, what=what, host=repr(host[:80])
        ))
    return host


def _secret(value: str, where: str, what: str) -> Secret:
    if "\r" in value or "\n" in value or "\0" in value:
        raise SessionFileError(_("{where}: {what}: the value holds a line break or NUL", where=where, what=what))
    if len(value) > MAX_VALUE_CHARS:
        raise SessionFileError(_("{where}: {what}: the value is longer than {limit} characters", where=where, what=what,
                                 limit=MAX_VALUE_CHARS))
    return Secret(value)


def _cookie_path(path: str, where: str) -> str:
    if not path.startswith("/") or any(c in path for c in ";\r\n\0"):
        raise SessionFileError(_("{where}: cookie path {path} must start with '/'", where=where, path=repr(path[:80])))
    return path


def _expiry(text: str, where: str) -> int | None:
    """A Unix time; 0 or empty is a browser-session cookie (None)."""
    if text in ("", "0"):
        return None
    try:
        expires = int(float(text))
    except ValueError:
        raise SessionFileError(_("{where}: expiry {value} is not a Unix time (seconds)", where=where,
                                 value=repr(text[:40]))) from None
    if expires < 0:
        raise SessionFileError(_("{where}: expiry {value} is negative", where=where, value=expires))
    return expires


def describe(config: SessionConfig) -> str:
    """``host (2 cookies, 1 header), ...``: what the session file holds, without a value."""
    parts = []
    for host in config.hosts:
        site = config.sites[host]
        parts.append(f"{host} ({len(site.cookies)} cookie{'s' if len(site.cookies) != 1 else ''}, "
                     f"{len(site.headers)} header{'s' if len(site.headers) != 1 else ''})")
    return ", ".join(parts)


__all__ = ["Secret", "SessionConfig", "SessionCookie", "SessionFileError", "SiteSession", "describe", "load_sessions"]

