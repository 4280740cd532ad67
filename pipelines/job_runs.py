"""What a crawl run's record says about it: its outcome, its figures, its errors by type; and the runs no crawl records.

A crawl writes its run document (``<prefix>-crawl-runs``, ``_id`` = job id)
when its spider closes; :func:`run_figures` is the part of that document
computed from Scrapy's stats: the outcome and why, pages, items, bytes and
errors by type.  Runs that never reach a spider -- skipped because the job's
previous run is still going, or stopped before their crawl started -- are
written by :func:`write_run_record` from :func:`run_record`.

Outcomes (:data:`OUTCOMES`), decided in this order by :func:`run_figures`:

* ``failed`` -- the network guard refused something, documents were lost,
  or the spool could not be written (the crawl was stopped);
* ``needs-login`` -- a site answered with a login or CAPTCHA page where
  content was expected (stats ``login/needs_login/<site>``, set by
  :mod:`crawler.middlewares.login_wall`), also when that left no page fetched;
* ``failed`` -- no page could be fetched;
* ``partial`` -- the crawl stopped early (SIGTERM: ``shutdown``; the time cap:
  ``closespider_timeout``), a page budget was reached, pages could not be
  fetched after their retries, or documents stayed in the spool (what the
  crawl spooled and wrote back at its end, ``elasticsearch/spool_left`` 0,
  does not count);
* ``ok`` -- none of these;
* ``skipped`` -- set by the scheduler or ``onionscope jobs run``, never by a crawl.

Errors by type (``errors``: type -> count): ``tor/<kind>`` (SOCKS and onion
service failures, oversized headers; also summed as ``tor_failures``),
``download/<exception>`` (other download errors, retries included),
``gave_up/retries`` (requests given up after their retries), ``http/<status>``
(responses 400 and up), ``spider/<exception>``, ``extraction/<what>``,
``index/failed|spooled|lost`` and ``network_guard/refused``.  The types come
from onionscope's and Scrapy's own names, never from page content.
``error_types`` holds the same counts as a list of ``{type, count}`` (a nested
field, so ``/metrics`` on the API can add them up by type).

Tor and Elasticsearch, beside the errors: ``tor_bootstrap_failures`` (tor had
not finished bootstrapping when the crawl started, plus bootstrap problems
reported during it), ``tor_circuit_failures`` (circuits tor failed to build)
and ``tor_newnym`` (NEWNYM signals tor acted on) -- from tor's ControlPort
(:mod:`crawler.tor.control_stats`; 0 without one); ``bulk_requests``,
``bulk_seconds`` (their latency added up) and ``bulk_seconds_max``, and
``items_failed`` (documents that failed for good, then spooled).

Public API: :data:`OUTCOMES`; :func:`run_figures` (stats, finish_reason) -> dict;
:func:`errors_by_type` (stats) -> dict; :func:`error_types` (errors) -> list; :func:`run_labels` (...) -> dict;
:func:`run_record` (...) -> dict; :func:`write_run_record` (client, prefix, document, templates_dir=None).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from crawler.middlewares.login_wall import needs_login_sites

OUTCOMES = ("ok", "failed", "partial", "skipped", "needs-login")
# Triggers of a run: the schedule, the first run after the scheduler was down, `jobs run`.
TRIGGERS = ("schedule", "catch-up", "manual")
REASON_MAX_CHARS = 500

_TOR_MODULE = "crawler.tor.errors."
_EARLY_STOPS = {
    "shutdown": "stopped before it finished (SIGTERM or Ctrl-C); what it had fetched is indexed",
    "closespider_timeout": "reached its time cap (max_duration)",
}


def _number(stats: dict[str, Any], key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _seconds(stats: dict[str, Any], key: str) -> float:
    value = stats.get(key, 0)
    return round(float(value), 6) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def error_types(errors: dict[str, int]) -> list[dict[str, Any]]:
    """``errors`` (type -> count) as the nested ``error_types`` list: ``[{"type": ..., "count": ...}]``, by type."""
    return [{"type": str(kind), "count": int(count)} for kind, count in sorted(errors.items())]


def _total(stats: dict[str, Any], prefix: str) -> int:
    return sum(_number(stats, key) for key in stats if key.startswith(prefix))


def errors_by_type(stats: dict[str, Any]) -> dict[str, int]:
    """Error counts by type from Scrapy's stats (see the module docstring); zero counts left out."""
    errors: dict[str, int] = {}

    def add(kind: str, count: int) -> None:
        if count > 0:
            errors[kind] = errors.get(kind, 0) + count

    for key in stats:
        count = _number(stats, key)
        if key.startswith("tor/socks_error/"):
            add("tor/" + key.rsplit("/", 1)[1], count)
        elif key.startswith("downloader/exception_type_count/"):
            dotted = key[len("downloader/exception_type_count/"):]
            if not dotted.startswith(_TOR_MODULE):  # counted under tor/ already
                add("download/" + dotted.rsplit(".", 1)[-1], count)
        elif key.startswith("downloader/response_status_count/"):
            status = key.rsplit("/", 1)[1]
            if status.isdigit() and int(status) >= 400:
                add(f"http/{status}", count)
        elif key.startswith("spider_exceptions/"):
            add("spider/" + key.rsplit("/", 1)[1], count)
    add("tor/headers_too_large", _number(stats, "tor/headers_too_large"))
    add("gave_up/retries", _number(stats, "retry/max_reached"))
    add("extraction/over_budget", _number(stats, "onionscope/extraction_over_budget"))
    add("extraction/failed", _number(stats, "onionscope/extraction_failed"))
    add("index/failed", _number(stats, "elasticsearch/failed"))
    add("index/spooled", _number(stats, "elasticsearch/spooled"))
    add("index/lost", _number(stats, "elasticsearch/lost"))
    add("network_guard/refused", _number(stats, "network_guard/refused"))
    return dict(sorted(errors.items()))


def run_figures(stats: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    """The outcome, its reason and the figures of a crawl run, from its final stats.

    Returns ``outcome``, ``outcome_reason``, ``pages`` (pages fetched),
    ``items`` (listings and vendors indexed), ``bytes`` (response bytes),
    ``errors``, ``error_count`` and ``tor_failures``.
    """
    errors = errors_by_type(stats)
    pages = _number(stats, "onionscope/pages") or _number(stats, "response_received_count")
    # The crawl writes back what it spooled once Elasticsearch answers again; what is left counts.
    spooled = _number(stats, "elasticsearch/spool_left" if "elasticsearch/spool_left" in stats else "elasticsearch/spooled")
    login_sites = sorted(host for host, pages in needs_login_sites(stats).items() if pages)
    reason_text = str(finish_reason or "unknown")
    if _number(stats, "network_guard/refused"):
        outcome, reason = "failed", "the network guard refused a lookup or a connection outside tor and Elasticsearch"
    elif _number(stats, "elasticsearch/lost"):
        outcome, reason = "failed", f"{_number(stats, 'elasticsearch/lost')} documents could be neither indexed nor spooled"
    elif stats.get("elasticsearch/spool_error"):
        outcome, reason = "failed", f"the spool could not be written: {stats['elasticsearch/spool_error']}"
    elif login_sites:
        outcome, reason = "needs-login", "a fresh session is needed for " + ", ".join(login_sites)
    elif pages == 0:
        worst = max(errors.items(), key=lambda item: item[1])[0] if errors else None
        outcome = "failed"
        reason = "no page could be fetched" + (f" (most errors: {worst})" if worst else "") + (
            f"; {_EARLY_STOPS[reason_text]}" if reason_text in _EARLY_STOPS else "")
    elif reason_text != "finished":
        outcome, reason = "partial", _EARLY_STOPS.get(reason_text, f"the crawl ended early ({reason_text})")
    elif _number(stats, "budget/job_exhausted") or _number(stats, "budget/hosts_exhausted"):
        outcome, reason = "partial", "a page budget was reached (max_pages or max_pages_per_host)"
    elif _number(stats, "retry/max_reached"):
        outcome, reason = "partial", f"{_number(stats, 'retry/max_reached')} requests failed after their retries"
    elif spooled:
        outcome, reason = "partial", f"{spooled} documents went to the spool (onionscope index replay-spool)"
    else:
        outcome, reason = "ok", ""
    return {
        "outcome": outcome,
        "outcome_reason": reason[:REASON_MAX_CHARS],
        "pages": pages,
        "items": _number(stats, "elasticsearch/indexed/listings") + _number(stats, "elasticsearch/indexed/vendors"),
        "bytes": _number(stats, "downloader/response_bytes"),
        "errors": errors,
        "error_types": error_types(errors),
        "error_count": sum(errors.values()),
        "tor_failures": sum(count for kind, count in errors.items() if kind.startswith("tor/")),
        "tor_bootstrap_failures": _number(stats, "tor/control/bootstrap_incomplete")
        + _number(stats, "tor/control/bootstrap_problems"),
        "tor_circuit_failures": _number(stats, "tor/control/circuit_failed"),
        "tor_newnym": _number(stats, "tor/control/newnym"),
        "bulk_requests": _number(stats, "elasticsearch/bulk_requests"),
        "bulk_seconds": _seconds(stats, "elasticsearch/bulk_seconds"),
        "bulk_seconds_max": _seconds(stats, "elasticsearch/bulk_seconds_max"),
    }


def run_labels(job_name: str | None, trigger: str | None = None, scheduled_for: str | None = None,
               missed_runs: int = 0) -> dict[str, Any]:
    """What ties a run to its scheduled job; the crawl-run document carries these as they are."""
    labels: dict[str, Any] = {}
    if job_name:
        labels["job_name"] = job_name
    if trigger:
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}; expected one of {', '.join(TRIGGERS)}")
        labels["trigger"] = trigger
    if scheduled_for:
        labels["scheduled_for"] = scheduled_for
    if missed_runs:
        labels["missed_runs"] = int(missed_runs)
    return labels


def utc_iso(moment: datetime | None = None) -> str:
    """``moment`` (default: now) as ISO-8601 UTC with a Z, to the second."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_record(
    job_id: str, job_name: str, *, outcome: str, reason: str, started_at: str, finished_at: str,
    trigger: str | None = None, scheduled_for: str | None = None, seeds: list[str] | None = None,
    missed_runs: int = 0, stats: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A crawl-run document for a run that no crawl recorded (skipped, or stopped before its crawl began).

    :raises ValueError: for an outcome or trigger that is not one of :data:`OUTCOMES` / :data:`TRIGGERS`.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}")
    return {
        "job_id": job_id,
        "spider": "onion",
        "started_at": started_at,
        "finished_at": finished_at,
        "finish_reason": outcome,
        "seeds": [str(seed)[:2048] for seed in (seeds or [])][:1000],
        "pages_indexed": 0, "items_indexed": 0, "items_failed": 0, "items_spooled": 0, "items_dropped": 0,
        "stats": dict(stats or {}),
        **run_labels(job_name, trigger, scheduled_for, missed_runs),
        "outcome": outcome,
        "outcome_reason": reason[:REASON_MAX_CHARS],
        "pages": 0, "items": 0, "bytes": 0, "errors": {}, "error_types": [], "error_count": 0, "tor_failures": 0,
        "tor_bootstrap_failures": 0, "tor_circuit_failures": 0, "tor_newnym": 0,
        "bulk_requests": 0, "bulk_seconds": 0.0, "bulk_seconds_max": 0.0,
    }


def write_run_record(client: Any, index_prefix: str, document: dict[str, Any], templates_dir: Any = None) -> None:
    """Index ``document`` as ``<prefix>-crawl-runs/<job_id>``, searchable when this returns.

    Sets the indices up first (idempotent; templates from ``templates_dir``, default the config package's).  Raises what the client raises
    (the caller logs it: a run record that cannot be written is reported, not spooled).
    """
    from config.schema import alias_name, crawl_run_doc_id
    from pipelines.indices import ensure_indices

    ensure_indices(client, index_prefix, kinds=("crawl-runs",), templates_dir=templates_dir)
    # The nested twin of ``errors`` always says what ``errors`` says.
    document = {**document, "error_types": error_types(document.get("errors") or {})}
    client.index(index=alias_name(index_prefix, "crawl-runs"), id=crawl_run_doc_id(document["job_id"]), document=document,
                 refresh="wait_for")
