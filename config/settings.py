"""Every onionscope setting, its default, and how it is loaded and validated.

This module owns the one table of defaults (:data:`DEFAULTS`).  Values are
layered, later wins:

1. :data:`DEFAULTS` below;
2. the YAML file ``onionscope.yml`` in the config package's folder (or the path
   in ``ONIONSCOPE_CONFIG``, or ``--config``), optional;
3. environment variables ``ONIONSCOPE_<KEY in upper case>`` (for example
   ``ONIONSCOPE_ES_URL``, ``ONIONSCOPE_TOR_SOCKS``).  An unknown
   ``ONIONSCOPE_*`` variable is an error; ``ONIONSCOPE_TEST_*`` are left to
   the test suite;
4. the tor a ready private test network leaves behind: when neither the file
   nor the environment sets ``tor_socks``, ``tor_control`` or ``tor_pool``, the
   ``tor_socks``, ``tor_control``, ``tor_cookie`` and ``tor_password`` of
   ``<testnet_dir>/tor-settings.yml`` (:func:`config.paths.testnet_tor_settings_file`),
   taken as a whole.  ``onionscope testnet up`` writes that file once its
   network is ready (:func:`write_testnet_tor_settings`) and ``testnet down``
   removes it (:func:`remove_testnet_tor_settings`).  A file whose client
   process is gone is not used; :attr:`Settings.notes` says so, and commands
   that need a tor show the note.

Paths: a relative path in a setting (a default such as ``var``, a value in the
YAML file or in the environment) is taken relative to the current directory
when the settings are loaded, and stored absolute.  ``config_dir`` defaults to
the config package's own folder (:data:`config.paths.PACKAGE_DIR`), so an
installed copy finds its data files wherever it runs.

Public API:

* :func:`load_settings` -> :class:`Settings` (validated, typed, read-only);
* :class:`ConfigError` -- raised for an unknown key or a bad value; its message
  names the file (or environment variable) and the key;
* :func:`write_testnet_tor_settings`, :func:`remove_testnet_tor_settings` --
  the private test network's hand-over of its tor (layer 4 above).

Nothing here touches the network; importing it reads no file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from config import paths
from config.errors import UserError
from config.i18n import _
from config.os_reasons import os_reason
from config.located_yaml import yaml_error_line, yaml_problem
from config.processes import process_start_ticks

# Pinned once, used by the local node (harness.elasticsearch_node) and docker-compose.yml.
ELASTICSEARCH_VERSION = "9.2.4"


class ConfigError(UserError):
    """A configuration file, variable or value is wrong; the message says where."""


@dataclass(frozen=True)
class Setting:
    """One setting: its default, its parser and a one-line description."""

    default: Any
    parse: Callable[[str, Any], Any]
    help: str


def _str(key: str, value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(_("expected a string, got {kind}", kind=type(value).__name__))
    return str(value)


def _opt_str(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _str(key, value)


def _int(minimum: int, maximum: int) -> Callable[[str, Any], int]:
    def parse(key: str, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(_("expected a whole number, got a boolean"))
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(_("expected a whole number, got {value}", value=repr(value))) from None
        if not minimum <= number <= maximum:
            raise ValueError(_("{number} is outside {minimum}..{maximum}", number=number, minimum=minimum,
                               maximum=maximum))
        return number

    return parse


def _discover_policy(key: str, value: Any) -> str:
    # YAML reads a bare `off` as false.
    text = "off" if value is False else str(value).strip().lower()
    policies = ("off", "record", "probe", "crawl")
    if text not in policies:
        raise ValueError(_("expected one of {choices}, got {value}", choices=", ".join(policies), value=repr(value)))
    return text


def _language(key: str, value: Any) -> str:
    text = str(value).strip().lower()
    languages = ("auto", "en", "ru")
    if text not in languages:
        raise ValueError(_("expected one of {choices}, got {value}", choices=", ".join(languages), value=repr(value)))
    return text


def _opt_int(minimum: int, maximum: int) -> Callable[[str, Any], int | None]:
    whole = _int(minimum, maximum)

    def parse(key: str, value: Any) -> int | None:
        return None if value is None or value == "" else whole(key, value)

    return parse


def _replicas(key: str, value: Any) -> int | str:
    """A replica count (0-16), or an auto-expand range ``A-B``/``A-all`` that follows the data nodes."""
    text = str(value).strip().lower()
    if re.fullmatch(r"[0-9]+", text):
        return _int(0, 16)(key, text)
    if re.fullmatch(r"[0-9]+-([0-9]+|all)", text):
        low, high = text.split("-")
        if high == "all" or int(low) <= int(high):
            return text
    raise ValueError(_("expected a replica count such as 1, or a range such as 0-1 or 0-all, got {value}", value=repr(value)))


def _float(minimum: float, maximum: float) -> Callable[[str, Any], float]:
    def parse(key: str, value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(_("expected a number, got a boolean"))
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(_("expected a number, got {value}", value=repr(value))) from None
        if not minimum <= number <= maximum:
            raise ValueError(_("{number} is outside {minimum}..{maximum}", number=number, minimum=minimum,
                               maximum=maximum))
        return number

    return parse


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(_("expected true or false, got {value}", value=repr(value)))


def _host_port(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = _str(key, value)
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(_("expected host:port, got {value}", value=repr(text)))
    return text


def _url(key: str, value: Any) -> str:
    text = _str(key, value).rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError(_("expected an http:// or https:// URL, got {value}", value=repr(text)))
    return text


def _redis_url(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = _str(key, value).strip()
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(_("expected a redis://, rediss:// or unix:// URL, got {value}", value=repr(text)))
    return text


def _choice(*choices: str) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError(_("expected one of {choices}, got {value}", choices=", ".join(choices), value=repr(value)))
        return text

    return parse


def _opt_url(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _url(key, value)


def _path(key: str, value: Any) -> Path:
    # Relative to the current directory at load time (the module docstring says why).
    path = Path(_str(key, value)).expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def _opt_path(key: str, value: Any) -> Path | None:
    if value is None or value == "":
        return None
    return _path(key, value)


def _index_prefix(key: str, value: Any) -> str:
    text = _str(key, value)
    if not text or text != text.lower() or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError(_("expected lower-case letters, digits, '-' or '_', got {value}", value=repr(text)))
    return text


def _str_list(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [_str(key, part).strip() for part in value]
    else:
        raise ValueError(_("expected a list, got {kind}", kind=type(value).__name__))
    return tuple(item.lower() for item in items if item)


def _proxy_addresses(key: str, value: Any) -> tuple[str, ...]:
    """IP addresses or networks (``10.0.0.0/8``); no host names and no ``*``."""
    import ipaddress

    addresses = []
    for item in _str_list(key, value):
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                _("expected IP addresses or networks of the TLS proxies in front of the server, got {value}",
                  value=repr(item))
            ) from None
        # A bare address stays bare: that is how the proxy's peer address is compared.
        addresses.append(str(network.network_address) if "/" not in item else str(network))
    return tuple(addresses)


_MARKET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_V3_ONION_HOST = re.compile(r"[a-z2-7]{56}\.onion")


def _market_hosts(key: str, value: Any) -> tuple[tuple[str, str], ...]:
    """``MARKET=HOST`` confirmations: a string (comma or space separated), a list, or a mapping.

    Returns sorted unique ``(market, host)`` pairs.  The shape is checked here;
    the crawl checks the market names against the profiles and the onion
    checksums when it binds them.
    """
    entries: list[Any]
    if isinstance(value, str):
        entries = value.replace(",", " ").split()
    elif isinstance(value, Mapping):
        entries = []
        for market, hosts in value.items():
            if not isinstance(hosts, (str, list, tuple)):
                raise ValueError(_("expected an onion host or a list of them for {market}, got {value}", market=repr(market),
                                   value=repr(hosts)))
            entries.extend((market, host) for host in ([hosts] if isinstance(hosts, str) else hosts))
    elif isinstance(value, (list, tuple)):
        entries = list(value)
    else:
        raise ValueError(_("expected MARKET=HOST pairs, got {kind}", kind=type(value).__name__))
    pairs: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, str):
            market, sep, host = entry.partition("=")
            if not sep:
                raise ValueError(_("expected MARKET=HOST, got {value}", value=repr(entry)))
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            market, host = (str(part) for part in entry)
        else:
            raise ValueError(_("expected MARKET=HOST, got {value}", value=repr(entry)))
        market, host = market.strip(), host.strip().lower()
        if not _MARKET_NAME.fullmatch(market):
            raise ValueError(_("{market} is not a market profile name (lower-case letters, digits, '-', '_')",
                               market=repr(market)))
        if not _V3_ONION_HOST.fullmatch(host):
            raise ValueError(_("{host} (for {market}) is not a v3 onion host (56 base32 characters, then .onion)",
                               host=repr(host), market=market))
        if pairs.get(host, market) != market:
            raise ValueError(_("{host} is confirmed for two markets, {first} and {second}", host=host, first=pairs[host],
                               second=market))
        pairs[host] = market
    return tuple(sorted((market, host) for host, market in pairs.items()))


# The one table of defaults.  Keys are also the YAML keys; the environment
# variable is ONIONSCOPE_<KEY upper-cased>.
DEFAULTS: dict[str, Setting] = {
    # --- where things live
    "var_dir": Setting("var", _path, "Runtime state: logs, data, spools, the testnet."),
    "config_dir": Setting(
        str(paths.PACKAGE_DIR),
        _path,
        "Data-only configuration: markets, lexicon, countries, index templates, torrc templates, demo data "
        "(default: the config package's own folder).",
    ),
    # --- Elasticsearch
    "es_url": Setting("http://127.0.0.1:9200", _url, "Elasticsearch URL; set it to use your own cluster."),
    "es_username": Setting(None, _opt_str, "Elasticsearch basic-auth user (optional)."),
    "es_password": Setting(None, _opt_str, "Elasticsearch basic-auth password (optional)."),
    "es_ca_certs": Setting(None, _opt_path, "CA bundle to verify an https Elasticsearch (TLS is always verified)."),
    "es_timeout": Setting(30.0, _float(1, 600), "Seconds before an Elasticsearch request times out."),
    "index_prefix": Setting("onionscope", _index_prefix, "Prefix of every index and alias onionscope creates."),
    "index_shards": Setting(None, _opt_int(1, 1024), "Primary shards of new indices (default: the templates' 1)."),
    "index_replicas": Setting(
        "0-1", _replicas,
        "Replicas of each index: a count, or a range that follows the data nodes (0-1: none on one node, "
        "1 on a cluster); applied when the templates are installed, to the indices behind the aliases too.",
    ),
    "snapshot_repository": Setting(
        "onionscope", _str,
        "Snapshot repository of `onionscope index snapshot|restore`; registered as a shared-filesystem "
        "repository at <path.repo>/<name> when the cluster has none of that name.",
    ),
    "es_java_home": Setting("/usr/lib/jvm/temurin-25-jdk-amd64", _path, "JDK (21+) for the local node."),
    "es_heap": Setting("512m", _str, "Heap of the local node (-Xms and -Xmx)."),
    "es_port": Setting(9200, _int(1024, 65535), "HTTP port of the local node on 127.0.0.1."),
    "es_user": Setting("onionscope-es", _str, "System user the local node runs as (it refuses root)."),
    # --- Redis (the shared frontier of `onionscope crawl --shared`)
    "redis_url": Setting(
        None, _redis_url,
        "Redis of the shared crawl frontier (redis://, rediss:// or unix://); set it to use your own Redis "
        "(default: the local one `onionscope services up` starts on 127.0.0.1:redis_port).",
    ),
    "redis_port": Setting(6390, _int(1024, 65535), "Port of the local Redis on 127.0.0.1."),
    "frontier_lease_seconds": Setting(
        120.0, _float(2, 86_400),
        "A shared job's request taken by a worker that stops renewing it (killed, cut off) for this long goes "
        "back to the queue for another worker.",
    ),
    "frontier_heartbeat_seconds": Setting(
        5.0, _float(0.2, 3600),
        "How often a shared job's worker renews its leases and reports itself alive (it counts as gone after "
        "three missed beats); keep it well below frontier_lease_seconds.",
    ),
    # --- Tor (attach mode)
    "tor_socks": Setting(
        None,
        _host_port,
        "SOCKS5 host:port of the tor to use (a host name is looked up once, when a command starts); "
        "default: the testnet's first client.",
    ),
    "tor_control": Setting(None, _host_port, "ControlPort host:port of that tor; default: the testnet's first client."),
    "tor_cookie": Setting(None, _opt_path, "Control cookie file (cookie authentication)."),
    "tor_password": Setting(None, _opt_str, "Control password (HashedControlPassword authentication)."),
    "tor_extra_socks": Setting((), _str_list, "More SOCKS host:port of further tor clients; hosts stick to one each."),
    "tor_pool": Setting(
        (),
        _str_list,
        "Tor client pool: SOCKS=CONTROL host:port pairs, comma-separated (127.0.0.1:9050=127.0.0.1:9051,...); "
        "every worker pins each host to one healthy client by rendezvous hashing, and a client that fails "
        "is left out until restarted or reattached (auth: tor_password, else the cookie tor names).",
    ),
    "tor_pool_check_seconds": Setting(
        2.0, _float(0.2, 600), "Seconds between bootstrap checks of each pool client over its ControlPort."
    ),
    "tor_pool_circuit_failures": Setting(
        10, _int(1, 10000), "CIRC FAILED events in a row (no circuit built between) that make a pool client unhealthy."
    ),
    "tor_pool_socks_failures": Setting(
        3, _int(1, 10000), "Requests in a row refused by a pool client's SOCKS port that make it unhealthy."
    ),
    "tor_bootstrap_timeout": Setting(120.0, _float(1, 3600), "Seconds to wait for tor to bootstrap."),
    "tor_reconnect_seconds": Setting(
        120.0,
        _float(0, 3600),
        "Seconds a crawl holds its requests when its tor stops answering mid-crawl (killed, restarting), "
        "waiting for the SOCKS port to come back before they fail (0: fail at once).",
    ),
    # --- private test network
    "testnet_dir": Setting("var/testnet", _path, "Folder of the private Tor network (torrcs, data, manifest)."),
    "testnet_base_port": Setting(15000, _int(1024, 60000), "First port of the private Tor network's port block."),
    "testnet_relays": Setting(3, _int(2, 20), "Non-authority relays in the private network (exits among them)."),
    "testnet_clients": Setting(1, _int(1, 8), "Tor clients in the private network."),
    # --- demo sites
    "demo_dir": Setting("var/demo", _path, "Where the demo site generator writes sites and ground truth."),
    "demo_seed": Setting(1337, _int(0, 2**31), "Seed of the demo site generator."),
    # --- crawling
    "crawl_depth": Setting(5, _int(0, 100), "Links followed from a seed (0: fetch only the seeds)."),
    "crawl_max_pages_per_host": Setting(10_000, _int(1, 100_000_000), "Pages fetched from one host (onion service) per crawl."),
    "crawl_max_pages": Setting(100_000, _int(1, 1_000_000_000), "Pages fetched per crawl in all."),
    "crawl_max_pages_per_pattern": Setting(
        2_000,
        _int(0, 100_000_000),
        "Pages queued per URL pattern of a host (path with id-like segments as *, query parameter names): "
        "a calendar or session-id trap stops here, not at the host budget; raise it for markets with more "
        "listings (0: no limit).",
    ),
    "crawl_max_url_length": Setting(1_024, _int(0, 1_000_000), "Longest URL followed, in characters (0: no limit)."),
    "crawl_max_query_params": Setting(24, _int(0, 10_000), "Most query parameters in a URL followed (0: no limit)."),
    "crawl_max_query_length": Setting(512, _int(0, 1_000_000), "Longest query string in a URL followed (0: no limit)."),
    "crawl_max_path_repeats": Setting(
        3, _int(0, 1_000), "Times one path segment may appear in a URL followed, as in /a/b/a/b/a/b (0: no limit)."
    ),
    "crawl_concurrency": Setting(64, _int(1, 1024), "Requests in flight in total."),
    "crawl_concurrency_per_host": Setting(16, _int(1, 256), "Requests in flight per onion host."),
    "download_timeout": Setting(
        60.0,
        _float(1, 600),
        "Seconds a fetch through Tor may take in all, body included (a total cap, not an idle timeout); "
        "a body still dripping in then is cut off and not retried.",
    ),
    "download_maxsize": Setting(5 * 1024 * 1024, _int(1024, 512 * 1024 * 1024), "Largest response body kept (bytes)."),
    "download_headers_maxsize": Setting(
        64 * 1024, _int(1024, 16 * 1024 * 1024), "Largest response header block accepted (bytes); a larger one fails the fetch."
    ),
    "retry_times": Setting(2, _int(0, 20), "Retries of a failed fetch (SOCKS errors and timeouts included)."),
    "retry_backoff_seconds": Setting(
        5.0,
        _float(0, 300),
        "Seconds before the first retry of a failed fetch, doubling for each further one, so a site that is down "
        "for a moment is not given up within a second (0: retry at once).",
    ),
    "follow_offsite": Setting(
        False, _bool, "Follow links and redirects to onion services other than the seeds' (never clearnet or IP hosts)."
    ),
    "discover": Setting(
        "record", _discover_policy,
        "Onions that pages name (links and text): off, record (queue them), probe (then fetch each new one's "
        "front page once through Tor) or crawl (then crawl them to discover_crawl_depth).",
    ),
    "discover_crawl_depth": Setting(1, _int(0, 100), "Depth of the crawl of newly discovered onions (discover: crawl)."),
    "discover_max_onions": Setting(
        100, _int(1, 100_000), "Newly discovered onions probed or crawled at most after one crawl (the rest stay new)."
    ),
    "market_hosts": Setting(
        (),
        _market_hosts,
        "Onion hosts you confirm as a profiled market's, as MARKET=HOST pairs (comma-separated), on top of "
        "the profiles' hosts and host_patterns; a site marker alone never binds a host to a market.",
    ),
    "sessions_file": Setting(
        None,
        _opt_path,
        "Login sessions exported from Tor Browser (Netscape cookies.txt, or YAML/JSON with cookies and headers "
        "per onion host); each site's are sent to that host only, and never logged or indexed (default: none).",
    ),
    "allowed_content_types": Setting(
        ("text/html", "application/xhtml+xml", "text/plain"),
        _str_list,
        "Only these content types are downloaded; media is never fetched.",
    ),
    "page_text_max_chars": Setting(200_000, _int(1000, 10_000_000), "Visible text kept per page (characters)."),
    "extraction_budget_seconds": Setting(
        5.0,
        _float(0, 600),
        "Seconds the extraction of one page may take in its worker process; a page over budget is "
        "indexed with its title, text and links only (0: extract in the crawl process, no budget).",
    ),
    "extraction_workers": Setting(
        0,
        _int(0, 64),
        "Extraction worker processes, so that fetching never waits on parsing (0: one per CPU, at most 4; "
        "unused when extraction_budget_seconds is 0).",
    ),
    "blocklist_file": Setting(
        None,
        _opt_path,
        "YAML list of onion hosts, URL patterns and content hashes that are never fetched, indexed or shown "
        "(applied again to every search; default <config_dir>/blocklist.yml, where no file is an empty blocklist).",
    ),
    "user_agent": Setting(
        "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0",
        _str,
        "User-Agent sent to sites (Tor Browser's, so the crawler blends in).",
    ),
    # --- freshness: liveness back-off and incremental recrawl
    "liveness_backoff_seconds": Setting(
        3600.0, _float(0, 10 * 365 * 86400),
        "Wait after an onion's first failed check before it is fetched again; doubles with each further failed "
        "check (0: never back off).",
    ),
    "liveness_backoff_max_seconds": Setting(
        7 * 86400.0, _float(0, 10 * 365 * 86400), "Longest wait of the liveness back-off.",
    ),
    "recrawl_stable_seconds": Setting(
        2 * 86400.0, _float(0, 10 * 365 * 86400),
        "A page unchanged for longer is fetched less often: again after half its unchanged time (0: fetch every "
        "page at every crawl).",
    ),
    "recrawl_max_interval_seconds": Setting(
        7 * 86400.0, _float(0, 10 * 365 * 86400), "Longest wait before an unchanged page is fetched again.",
    ),
    # --- scheduled jobs
    "schedules_file": Setting(
        None, _opt_path,
        "The scheduled crawl jobs (`onionscope scheduler`, `onionscope jobs`, the Jobs page); "
        "default `<config_dir>/schedules.yml`.",
    ),
    "scheduler_stop_seconds": Setting(
        90.0,
        _float(1, 3600),
        "Seconds a stopping scheduler waits for its running crawls to flush and record their outcome "
        "before it kills them (recorded as failed); keep it above download_timeout, since a stopping "
        "crawl lets the fetches in flight finish or time out.",
    ),
    # --- evidence (WARC capture, crawler.evidence)
    "evidence_capture": Setting(
        True, _bool,
        "Keep every fetched response verbatim (status, headers, body as capped) as a WARC record under evidence_dir.",
    ),
    "evidence_dir": Setting(
        None, _opt_path,
        "Folder of the WARC evidence files and their hash-chained manifests (and the protected marks); "
        "default `<var_dir>/evidence`.",
    ),
    "evidence_max_file_bytes": Setting(
        256 * 1024 * 1024, _int(64 * 1024, 64 * 1024 * 1024 * 1024),
        "Size at which a WARC evidence file is closed (sealed) and the next one started (bytes).",
    ),
    "evidence_keep_days": Setting(
        180, _int(0, 100_000),
        "`onionscope evidence prune` removes WARC files whose newest record is older than this, unless an export "
        "or a watchlist touched one of their records (0: keep everything).",
    ),
    # --- indexing
    "bulk_batch_size": Setting(200, _int(1, 10_000), "Documents per bulk request."),
    "bulk_max_retries": Setting(5, _int(0, 50), "Retries of a failed bulk item before it is spooled."),
    "bulk_backoff_seconds": Setting(0.5, _float(0, 60), "First backoff between bulk retries (doubles each time)."),
    # --- search service
    "language": Setting(
        "auto", _language,
        "Language of the web UI, the command's messages and the exports' labels: en, ru, or auto (the "
        "browser's Accept-Language in the UI; LANGUAGE/LC_ALL/LANG for the command). `--lang` and `?lang=` win.",
    ),
    "serve_host": Setting("127.0.0.1", _str, "Address the API and web UI listen on."),
    "serve_port": Setting(8088, _int(1, 65535), "Port the API and web UI listen on."),
    "api_token_cache_seconds": Setting(
        5.0,
        _float(0, 300),
        "Seconds a verified API token is trusted without asking Elasticsearch again; a token revoked "
        "elsewhere keeps working that long on a running server (0: check every request).",
    ),
    "session_secret_file": Setting(
        None, _opt_path, "Secret that signs UI sessions and search cursors (default <var_dir>/session_secret, 0600)."
    ),
    "trusted_proxies": Setting(
        (),
        _proxy_addresses,
        "Addresses (or networks) of TLS proxies in front of the server whose X-Forwarded-Proto and "
        "X-Forwarded-For are believed, so session cookies are Secure over https (default: none).",
    ),
    "query_max_terms": Setting(
        64, _int(1, 4096), "Terms one query may have (each word of a phrase counts); more is a 400 naming this setting."
    ),
    "query_max_clauses": Setting(
        1024,
        _int(1, 65_536),
        "Elasticsearch clauses one query may expand to (a word counts once per field it searches); more is a 400.",
    ),
    "query_max_wildcards": Setting(
        4, _int(0, 256), "Wildcard (suffix) matches one query may make, e.g. pgp: with a key id; more is a 400."
    ),
    "search_max_window": Setting(
        10_000, _int(1, 10_000_000), "Hits one search can page through with its cursors; a page past them is a 400."
    ),
    "export_max_records": Setting(1000, _int(1, 1_000_000), "Records one export may hold; asking for more is a 400."),
    "login_attempts_per_window": Setting(
        10,
        _int(1, 1_000_000),
        "Login attempts (right or wrong) one client address may make in any login_window_seconds; more are "
        "answered 429 (behind a proxy in trusted_proxies, the forwarded address counts).",
    ),
    "login_window_seconds": Setting(60.0, _float(1, 86_400), "The sliding window of login_attempts_per_window, in seconds."),
    # --- watchlists and alerts
    "alert_webhook_url": Setting(
        None, _opt_url,
        "URL that new alerts are POSTed to, signed with alert_webhook_secret (default: none, no webhook).",
    ),
    "alert_webhook_secret": Setting(
        None, _opt_str,
        "HMAC-SHA256 key of the webhook's X-Onionscope-Signature header; needed with alert_webhook_url.",
    ),
    "alert_webhook_attempts": Setting(
        4, _int(1, 50), "Attempts to deliver one alert in one delivery pass (the back-off doubles between them).",
    ),
    "alert_webhook_backoff_seconds": Setting(
        2.0, _float(0, 600), "Wait after a failed webhook attempt, doubling with each further one (at most an hour).",
    ),
    "alert_webhook_max_attempts": Setting(
        20, _int(1, 10_000), "Webhook attempts for one alert in all passes; then its delivery is given up (failed).",
    ),
    "alert_webhook_format": Setting(
        "onionscope", _choice("onionscope", "misp"),
        "Body of a webhook POST: onionscope (the alert as JSON) or misp (a MISP event, for MISP's /events/add).",
    ),
    "alert_misp_key": Setting(
        None, _opt_str, "MISP API key sent as the Authorization header when alert_webhook_format is misp.",
    ),
    "alert_webhook_timeout_seconds": Setting(
        10.0, _float(0.1, 300), "Seconds one webhook POST may take before it counts as a failed attempt.",
    ),
}


class Settings(Mapping[str, Any]):
    """Validated, read-only settings; read them as attributes or by key.

    :attr:`notes` holds one message per settings layer that was found but not
    used (a private network's tor settings whose client has exited); a command
    that finds no tor shows them.
    """

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str], notes: tuple[str, ...] = ()):
        self._values = dict(values)
        self._sources = dict(sources)
        self.notes = tuple(notes)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):  # copy/pickle probe dunders before __init__ ran
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, key: str) -> str:
        """Where a value came from: 'default', a file path or an environment variable."""
        return self._sources[key]

    def replace(self, **overrides: Any) -> "Settings":
        """A copy with some values replaced (each is parsed and validated)."""
        values = dict(self._values)
        sources = dict(self._sources)
        for key, value in overrides.items():
            values[key] = _parse(key, value, "override")
            sources[key] = "override"
        return Settings(values, sources, self.notes)


def env_name(key: str) -> str:
    """The environment variable that sets ``key``."""
    return "ONIONSCOPE_" + key.upper()


def _parse(key: str, value: Any, where: str) -> Any:
    setting = DEFAULTS.get(key)
    if setting is None:
        hint = _closest(key)
        if hint:
            raise ConfigError(_("{where}: unknown setting {key} (did you mean {hint}?)", where=where, key=repr(key),
                                hint=repr(hint)))
        raise ConfigError(_("{where}: unknown setting {key}", where=where, key=repr(key)))
    try:
        return setting.parse(key, value)
    except ValueError as exc:
        raise ConfigError(_("{where}: setting {key}: {problem}", where=where, key=repr(key), problem=exc)) from None


def _closest(key: str) -> str | None:
    import difflib

    matches = difflib.get_close_matches(key, DEFAULTS.keys(), n=1)
    return matches[0] if matches else None


def default_config_file() -> Path:
    """``onionscope.yml`` in the config package's folder (:func:`config.paths.default_config_file`)."""
    return paths.default_config_file()


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load defaults, the YAML file, ``ONIONSCOPE_*`` variables, then a ready testnet's tor.

    Returns a :class:`Settings`.  Raises :class:`ConfigError` naming the file
    (or variable) and the key for an unknown key, a bad value or unreadable
    YAML.  A missing default config file is fine; a missing file that was
    asked for explicitly is an error.  The layers are in the module docstring.
    """
    environ = os.environ if environ is None else environ
    values = {key: setting.parse(key, setting.default) if setting.default is not None else None
              for key, setting in DEFAULTS.items()}
    sources = {key: "default" for key in DEFAULTS}

    explicit = config_file is not None or "ONIONSCOPE_CONFIG" in environ
    path = Path(config_file or environ.get("ONIONSCOPE_CONFIG") or default_config_file())
    if path.exists():
        for key, value in _read_yaml_mapping(path).items():
            values[str(key)] = _parse(str(key), value, str(path))
            sources[str(key)] = str(path)
    elif explicit:
        raise ConfigError(_("{path}: configuration file not found", path=path))

    known = {env_name(key): key for key in DEFAULTS}
    for name, value in environ.items():
        # ONIONSCOPE_TEST_* belong to the test suite, not to the settings.
        if not name.startswith("ONIONSCOPE_") or name == "ONIONSCOPE_CONFIG" or name.startswith("ONIONSCOPE_TEST_"):
            continue
        key = known.get(name)
        if key is None:
            hint = _closest(name[len("ONIONSCOPE_"):].lower())
            if hint:
                raise ConfigError(_("environment variable {name}: unknown setting (did you mean {hint}?)", name=name,
                                    hint=env_name(hint)))
            raise ConfigError(_("environment variable {name}: unknown setting", name=name))
        values[key] = _parse(key, value, _("environment variable {name}", name=name))
        sources[key] = f"environment variable {name}"

    notes: list[str] = []
    # A tor named in the file or the environment wins; the testnet's client is taken as a whole or not at all.
    if values["tor_socks"] is None and values["tor_control"] is None and not values["tor_pool"]:
        layer_file = paths.testnet_tor_settings_file(values["testnet_dir"])
        if layer_file.exists():
            layer, note = _testnet_tor_layer(layer_file)
            for key, value in layer.items():
                values[key] = value
                sources[key] = str(layer_file)
            if note:
                notes.append(note)
    return Settings(values, sources, tuple(notes))


def _read_yaml_mapping(path: Path) -> dict[Any, Any]:
    """The top-level mapping of a YAML settings file; raises ConfigError naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        raise ConfigError(_("{path}: not valid YAML: {problem}", path=f"{path}:{line}" if line else path,
                            problem=yaml_problem(exc))) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(_("{path}: not UTF-8 text (byte {offset})", path=path, offset=exc.start)) from None
    except RecursionError:
        # PyYAML reads nested collections recursively; a settings file is flat.
        raise ConfigError(_("{path}: not valid YAML: nested too deeply", path=path)) from None
    except OSError as exc:
        raise ConfigError(_("{path}: cannot read it ({reason})", path=path, reason=os_reason(exc))) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(_("{path}: expected a mapping of setting: value at the top level", path=path))
    return data


# --------------------------------------------------------------------------- the testnet's tor

# What a private network hands over: its first client, as one unit.
TESTNET_TOR_KEYS: tuple[str, ...] = ("tor_socks", "tor_control", "tor_cookie", "tor_password")


def _testnet_tor_layer(path: Path) -> tuple[dict[str, Any], str | None]:
    """(settings to apply, note) from a testnet's tor settings file; ({}, why) when its client is gone."""
    data = _read_yaml_mapping(path)
    client, layer = data.get("client"), data.get("settings")
    if not isinstance(client, dict) or not isinstance(layer, dict) or set(data) - {"client", "settings"}:
        raise ConfigError(
            _("{path}: expected 'client' and 'settings' (written by `onionscope testnet up`); "
              "delete the file and run `onionscope testnet up` again", path=path)
        )
    unknown = sorted(set(map(str, layer)) - set(TESTNET_TOR_KEYS))
    if unknown:
        raise ConfigError(_("{path}: settings: {key} is not one of {choices}", path=path, key=repr(unknown[0]),
                            choices=", ".join(TESTNET_TOR_KEYS)))
    parsed = {key: _parse(key, layer.get(key), str(path)) if layer.get(key) is not None else None
              for key in TESTNET_TOR_KEYS}
    pid, start_ticks = client.get("pid"), client.get("start_ticks")
    if not isinstance(pid, int) or process_start_ticks(pid) != start_ticks:
        network = path.parent
        return {}, (
            _("the private testnet in {network} is not running (its client {client} with PID {pid} is gone; "
              "{file} is left from before); run `onionscope testnet up`", network=network,
              client=client.get("name", "?"), pid=pid, file=path.name)
        )
    return parsed, None


def write_testnet_tor_settings(
    testnet_dir: str | os.PathLike[str], *, socks_port: int, control_port: int, cookie_path: str | os.PathLike[str],
    client_name: str, client_pid: int,
) -> Path:
    """Hand a ready private network's client over to :func:`load_settings`; returns the file written.

    Writes ``<testnet_dir>/tor-settings.yml`` atomically (readers never see
    half a file).  The settings hold while the process ``client_pid`` runs:
    it is recorded with its start time, so a recycled PID does not revive
    them.  Raises ConfigError for a value that is not a valid setting and
    ProcessLookupError when ``client_pid`` is already gone.
    """
    path = paths.testnet_tor_settings_file(testnet_dir)
    layer = {
        "tor_socks": f"127.0.0.1:{int(socks_port)}",
        "tor_control": f"127.0.0.1:{int(control_port)}",
        "tor_cookie": str(Path(cookie_path).resolve()),
        "tor_password": None,  # cookie authentication
    }
    for key, value in layer.items():
        if value is not None:
            _parse(key, value, str(path))
    start_ticks = process_start_ticks(int(client_pid))
    if start_ticks is None:
        raise ProcessLookupError(f"tor client {client_name} (PID {client_pid}) is gone; nothing to hand over")
    header = (
        f"# The private Tor network in {Path(testnet_dir).resolve()} is ready; this is its first client.\n"
        "# Written by `onionscope testnet up`, removed by `onionscope testnet down`.  onionscope reads it\n"
        "# when neither the settings file nor the environment names a tor (see config/settings.py).\n"
    )
    document = {"client": {"name": client_name, "pid": int(client_pid), "start_ticks": start_ticks},
                "settings": layer}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    temporary.replace(path)
    return path


def remove_testnet_tor_settings(testnet_dir: str | os.PathLike[str]) -> bool:
    """Withdraw the hand-over (the network is stopping); returns whether a file was removed."""
    path = paths.testnet_tor_settings_file(testnet_dir)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
