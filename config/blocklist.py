"""The blocklist: onion hosts, URL patterns and content hashes onionscope never fetches, indexes or shows.

The file (setting ``blocklist_file``, default ``<config_dir>/blocklist.yml``, where no file is
an empty blocklist) is YAML with three optional lists::

    onion_hosts:        # v3 onion services: nothing of theirs is fetched, indexed or shown
      - abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcd.onion
    url_patterns:       # whole URLs, * for any characters and ? for one, case-sensitive
      - "http://*.onion/private/*"
    content_hashes:     # sha256 of a page's body (a page's content_hash in the index)
      - 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

The crawl refuses blocked hosts and URLs before anything is fetched and drops a response
whose body has a blocked hash before it is read; the search side applies the same list to
every query, so documents indexed before an entry was added are hidden as soon as it is
(:mod:`search.blocklist`).

Public API:

* :func:`load_blocklist(path, required=False)` -> :class:`Blocklist`.  Raises
  :class:`~config.settings.ConfigError` naming the file and line of the first bad entry (an
  unknown key with a did-you-mean hint, a malformed host, pattern or hash); a missing file is
  an empty blocklist unless ``required``.
* :func:`blocklist_path(settings)` -> ``(path, required)``: the setting ``blocklist_file`` (which
  must exist), else ``<config_dir>/blocklist.yml`` (:func:`config.paths.blocklist_file`, optional).
* :func:`blocklist_for(settings)` -> the :class:`Blocklist` of a :class:`~config.settings.Settings`.
* :class:`BlocklistFile` -- a blocklist that re-reads its file when it changes (for a running
  server); a changed file that does not validate keeps the last good list and is logged.
* :class:`Blocklist` -- :meth:`Blocklist.refusal` (a URL: ``"onion_host"``,
  ``"url_pattern"`` or None), :meth:`Blocklist.blocks_hash`, :meth:`Blocklist.blocks_document`.

Nothing here touches the network.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from config.paths import blocklist_file as default_blocklist_file
from config.i18n import _
from config.os_reasons import os_reason
from config.located_yaml import yaml_error_line, yaml_problem
from config.settings import ConfigError

logger = logging.getLogger(__name__)

KEYS = ("onion_hosts", "url_patterns", "content_hashes")
_ONION_HOST = re.compile(r"[a-z2-7]{56}\.onion")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# A whole URL with * and ? as wildcards; no [...] classes or backslashes (Elasticsearch's
# wildcard query, which applies the same pattern at query time, has neither).
_URL_PATTERN = re.compile(r"(?:https?://|\*)[^\s\[\]\\]*")


@dataclass(frozen=True)
class Blocklist:
    """What is never fetched, indexed or shown (see the module docstring)."""

    onion_hosts: frozenset[str] = frozenset()
    url_patterns: tuple[str, ...] = ()
    content_hashes: frozenset[str] = frozenset()
    source: str = "no blocklist"

    def __bool__(self) -> bool:
        return bool(self.onion_hosts or self.url_patterns or self.content_hashes)

    def refusal(self, url: str) -> str | None:
        """``"onion_host"`` or ``"url_pattern"`` when ``url`` is blocked, else None.  Never raises."""
        if self.onion_hosts:
            try:
                host = (urlsplit(url).hostname or "").lower().rstrip(".")
            except ValueError:
                host = ""
            # Subdomains of a blocked service are that service.
            if host.endswith(".onion") and ".".join(host.split(".")[-2:]) in self.onion_hosts:
                return "onion_host"
        if any(fnmatchcase(url, pattern) for pattern in self.url_patterns):
            return "url_pattern"
        return None

    def blocks_hash(self, content_hash: str | None) -> bool:
        return bool(content_hash) and str(content_hash).lower() in self.content_hashes

    def blocks_document(self, source: Mapping[str, Any]) -> bool:
        """True when an indexed document (any kind) belongs to a blocked host, URL or body."""
        hosts = [source.get("onion_host"), *(source.get("onion_hosts") or [])]
        if any(str(host).lower() in self.onion_hosts for host in hosts if host):
            return True
        for name in ("url", "profile_url"):
            url = source.get(name)
            if url and self.refusal(str(url)) is not None:
                return True
        return self.blocks_hash(source.get("content_hash"))


def _did_you_mean(key: str) -> str:
    matches = difflib.get_close_matches(key, KEYS, n=1)
    return _(" (did you mean {hint}?)", hint=repr(matches[0])) if matches else ""


def _where(path: Path, node: Any) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _entry(path: Path, key: str, node: Any) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise ConfigError(_("{where}: {key}: expected a string entry", where=_where(path, node), key=key))
    value = str(node.value).strip()
    if key == "onion_hosts":
        value = value.lower().rstrip(".")
        if not _ONION_HOST.fullmatch(value):
            raise ConfigError(_("{where}: {key}: {value} is not a v3 onion host (56 base32 characters, then .onion)",
                                where=_where(path, node), key=key, value=repr(value)))
    elif key == "content_hashes":
        value = value.lower()
        if not _SHA256.fullmatch(value):
            raise ConfigError(_("{where}: {key}: {value} is not a sha256 hex digest (64 hex digits)",
                                where=_where(path, node), key=key, value=repr(value)))
    elif not _URL_PATTERN.fullmatch(value):
        raise ConfigError(_("{where}: {key}: {value} is not a URL pattern (a whole http:// or https:// URL, or one "
                            "starting with *, with * and ? as wildcards; no spaces, [ ] or \\)",
                            where=_where(path, node), key=key, value=repr(value)))
    return value


def parse_blocklist(text: str, path: Path) -> Blocklist:
    """The blocklist in ``text`` (read from ``path``, named in errors); raises ConfigError."""
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        problem = yaml_problem(exc)
        raise ConfigError(_("{path}: not valid YAML: {problem}", path=path,
                            problem=_("{problem} (line {line})", problem=problem, line=line) if line else problem)
                          ) from None
    if document is None:
        return Blocklist(source=str(path))
    if not isinstance(document, yaml.MappingNode):
        raise ConfigError(_("{where}: expected a mapping of {keys}", where=_where(path, document), keys=", ".join(KEYS)))
    found: dict[str, list[str]] = {key: [] for key in KEYS}
    for key_node, value_node in document.value:
        key = str(key_node.value)
        if key not in KEYS:
            raise ConfigError(_("{where}: unknown key {key}{hint}; expected {keys}", where=_where(path, key_node),
                                key=repr(key), hint=_did_you_mean(key), keys=", ".join(KEYS)))
        if isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "null", "~"):
            continue  # an empty list written as "key:"
        if not isinstance(value_node, yaml.SequenceNode):
            raise ConfigError(_("{where}: {key}: expected a list", where=_where(path, value_node), key=key))
        found[key].extend(_entry(path, key, item) for item in value_node.value)
    return Blocklist(
        onion_hosts=frozenset(found["onion_hosts"]),
        url_patterns=tuple(dict.fromkeys(found["url_patterns"])),
        content_hashes=frozenset(found["content_hashes"]),
        source=str(path),
    )


def load_blocklist(path: str | os.PathLike[str], required: bool = False) -> Blocklist:
    """The blocklist in the file at ``path`` (see :func:`parse_blocklist`); empty if it does not
    exist, unless ``required``.  Raises ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(_("{path}: blocklist file not found (setting blocklist_file)", path=path)) from None
        return Blocklist(source=f"{path} (absent)")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(_("{path}: cannot read the blocklist ({reason})", path=path,
                            reason=os_reason(exc) if isinstance(exc, OSError) else exc)) from None
    return parse_blocklist(text, path)


def blocklist_path(settings: Any) -> tuple[Path, bool]:
    """The blocklist file ``settings`` name and whether it must exist: ``blocklist_file`` when set
    (required), else ``<config_dir>/blocklist.yml`` (optional).  Raises nothing."""
    configured = settings["blocklist_file"]
    if configured:
        return Path(configured), True
    return default_blocklist_file(settings["config_dir"]), False


def blocklist_for(settings: Any) -> Blocklist:
    """The blocklist ``settings`` name (:func:`blocklist_path`); raises ConfigError (a set path must exist)."""
    return load_blocklist(*blocklist_path(settings))


@dataclass
class BlocklistFile:
    """A blocklist file, re-read when its modification time or size changes."""

    path: Path
    required: bool = False
    _stamp: tuple[int, int] | None = field(default=None, init=False)
    _current: Blocklist = field(default_factory=Blocklist, init=False)
    _loaded: bool = field(default=False, init=False)

    @classmethod
    def for_settings(cls, settings: Any) -> "BlocklistFile":
        path, required = blocklist_path(settings)
        source = cls(path, required=required)
        source.current(strict=True)  # a bad or missing file stops the server at start-up
        return source

    def current(self, strict: bool = False) -> Blocklist:
        """The blocklist as the file says now.  A file that changed and no longer validates keeps
        the last good list (logged as an ERROR), unless ``strict``, which raises ConfigError."""
        try:
            status = self.path.stat()
            stamp: tuple[int, int] | None = (status.st_mtime_ns, status.st_size)
        except FileNotFoundError:
            stamp = None
        if self._loaded and stamp == self._stamp:
            return self._current
        try:
            self._current = load_blocklist(self.path, required=self.required)
        except ConfigError as error:
            if strict:
                raise
            logger.error("the blocklist was changed and is now invalid; still applying the last valid one: %s", error)
        self._stamp, self._loaded = stamp, True
        return self._current
