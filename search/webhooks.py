"""Alert delivery to a webhook: signed with HMAC-SHA256, retried with back-off, every attempt recorded on the alert.

An alert made while ``alert_webhook_url`` is set waits with ``webhook_state``
``pending``.  :func:`deliver_pending` (run by ``onionscope watch deliver``,
which every crawl starts as a child process once it has made alerts) takes
the alerts that are due, claims each (a compare-and-set on the alert, so two
passes never send one alert twice at once) and POSTs it:

* body: ``{"type": "onionscope.alert", "alert": {...}}`` (JSON, UTF-8);
* headers: ``X-Onionscope-Delivery`` (the alert id: the same on every retry,
  so a receiver can drop a repeat), ``X-Onionscope-Timestamp`` (Unix
  seconds), and ``X-Onionscope-Signature: sha256=<hex>``, the HMAC-SHA256 of
  ``<timestamp>.<body>`` under ``alert_webhook_secret``
  (:func:`signature`); a receiver recomputes it over the raw body and compares
  in constant time, and refuses old timestamps.

Within one pass an alert is tried up to ``alert_webhook_attempts`` times,
waiting ``alert_webhook_backoff_seconds`` and twice that after each further
failure.  A refused connection, a time-out, a 5xx, 408 or 429 is retried;
any other answer that is not 2xx is final (``failed``: the receiver refused
it).  An alert still undelivered after the pass is ``retrying``, due again
after the next back-off step (at most an hour), until
``alert_webhook_max_attempts`` attempts in all (then ``failed``).  Every
attempt is recorded on the alert (``deliveries``: when, status or error,
milliseconds; the last :data:`MAX_RECORDED` are kept).

The POST goes only to ``alert_webhook_url``: redirects are not followed, and
proxy variables of the environment are not used.

With ``alert_webhook_format: misp`` the body is instead the alert as a MISP
event (:func:`misp_event`; point ``alert_webhook_url`` at MISP's
``/events/add``) and ``alert_misp_key`` goes in the ``Authorization`` header;
retries and records are the same.

Public API: :func:`signature` (secret, timestamp, body) -> str;
:func:`payload` (alert) / :func:`misp_event` (alert) / :func:`body_for` (webhook, alert) -- the bodies;
:func:`webhook_settings` (settings) -> :class:`WebhookSettings` or None;
:func:`deliver_pending` (client, prefix, webhook, ...) -> :class:`DeliverySummary`;
:func:`due_count` (client, prefix) -> the alerts due now (at most one batch, :data:`BATCH`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from config.errors import UserError
from config.i18n import _
from search.alerts import alerts_index
from search.signing import webhook_signature

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Onionscope-Signature"
TIMESTAMP_HEADER = "X-Onionscope-Timestamp"
DELIVERY_HEADER = "X-Onionscope-Delivery"
MAX_RECORDED = 20
MAX_WAIT_SECONDS = 3600.0
# A pass that dies while sending leaves its claim; another pass may take the alert after this long.
CLAIM_SECONDS = 300.0
BATCH = 200
RETRYABLE_STATUSES = {408, 429}
DUE_STATES = ("pending", "retrying", "sending")


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: bytes
    attempts: int
    backoff_seconds: float
    max_attempts: int
    timeout_seconds: float
    body_format: str = "onionscope"
    misp_key: str | None = None


@dataclass
class DeliverySummary:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    attempts: int = 0

    def to_json(self) -> dict[str, int]:
        return {"delivered": self.delivered, "retrying": self.retrying, "failed": self.failed,
                "attempts": self.attempts}


def webhook_settings(settings: Any) -> WebhookSettings | None:
    """The webhook of ``settings``, or None when ``alert_webhook_url`` is not set.

    :raises config.errors.UserError: a URL without ``alert_webhook_secret``
        (alerts are never sent unsigned).
    """
    url = settings["alert_webhook_url"]
    if not url:
        return None
    secret = settings["alert_webhook_secret"]
    if not secret:
        raise UserError(_("alert_webhook_url is set but alert_webhook_secret is not; alerts are only sent signed "
                          "(set ONIONSCOPE_ALERT_WEBHOOK_SECRET or alert_webhook_secret in the settings file)"))
    body_format = settings["alert_webhook_format"]
    if body_format == "misp" and not settings["alert_misp_key"]:
        raise UserError(_("alert_webhook_format is misp but alert_misp_key is not set (MISP's API key, sent as the "
                          "Authorization header)"))
    return WebhookSettings(url=url, secret=str(secret).encode("utf-8"), attempts=settings["alert_webhook_attempts"],
                           backoff_seconds=settings["alert_webhook_backoff_seconds"],
                           max_attempts=settings["alert_webhook_max_attempts"],
                           timeout_seconds=settings["alert_webhook_timeout_seconds"],
                           body_format=body_format, misp_key=settings["alert_misp_key"])


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret`` (:mod:`search.signing`)."""
    return webhook_signature(secret, timestamp, body)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def payload(alert: dict[str, Any]) -> bytes:
    """The body sent for ``alert``: its fields without the delivery bookkeeping."""
    shown = {key: value for key, value in alert.items()
             if not key.startswith("webhook_") and key not in ("deliveries", "read_at", "read_by")}
    return json.dumps({"type": "onionscope.alert", "alert": shown}, sort_keys=True, ensure_ascii=False).encode()


# MISP attribute (type, category, to_ids, comment) of each watchlist entry kind's value.
_MISP_ATTRIBUTES = {
    "wallet": ("text", "Financial fraud", True, "watched wallet address"),
    "onion": ("domain", "Network activity", True, "watched Tor onion service"),
    "pgp": ("text", "Person", False, "watched PGP key fingerprint"),
    "vendor": ("text", "Person", False, "watched vendor name"),
    "query": ("text", "Other", False, "watchlist query that matched"),
}
_MISP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:onionscope:misp:alerts")


def misp_event(alert: dict[str, Any]) -> dict[str, Any]:
    """The MISP event (``{"Event": {...}}``, for MISP's ``/events/add``) of one alert.

    Attributes: the watched value (by entry kind), the page's URL (``url``)
    and onion (``domain``); UUIDs are UUIDv5 of the alert id, so a retry sends
    the same event.  Unpublished, distribution "your organisation only".
    """
    alert_id = str(alert.get("alert_id") or "")
    event_uuid = str(uuid.uuid5(_MISP_NAMESPACE, "event:" + alert_id))
    created = str(alert.get("created_at") or "")
    try:
        timestamp = str(int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()))
    except ValueError:
        timestamp = str(int(time.time()))
    attributes: list[dict[str, Any]] = []

    def add(attribute_type: str, category: str, value: Any, to_ids: bool, comment: str) -> None:
        if value:
            attributes.append({"uuid": str(uuid.uuid5(_MISP_NAMESPACE, f"{event_uuid}:{attribute_type}:{value}")),
                               "type": attribute_type, "category": category, "value": str(value)[:4096],
                               "to_ids": to_ids, "comment": comment, "distribution": "5", "timestamp": timestamp})

    kind = str(alert.get("entry_kind") or "query")
    attribute_type, category, to_ids, comment = _MISP_ATTRIBUTES.get(kind, _MISP_ATTRIBUTES["query"])
    add(attribute_type, category, alert.get("entry_value"), to_ids, comment)
    add("url", "Network activity", alert.get("url"), False, "crawled page where it was seen")
    if kind != "onion":
        add("domain", "Network activity", alert.get("onion_host"), False, "Tor onion service of that page")
    info = f"onionscope alert: {kind} {alert.get('entry_value') or ''} seen on {alert.get('url') or '?'}"
    return {"Event": {
        "uuid": event_uuid, "info": info[:500], "date": created[:10], "timestamp": timestamp,
        "threat_level_id": "4", "analysis": "0", "distribution": "0", "published": False,
        "Tag": [{"name": "onionscope"}, {"name": "tlp:amber"}], "Attribute": attributes,
    }}


def body_for(webhook: WebhookSettings, alert: dict[str, Any]) -> bytes:
    """What is POSTed for ``alert``: :func:`payload`, or with ``alert_webhook_format: misp`` its :func:`misp_event`."""
    if webhook.body_format == "misp":
        return json.dumps(misp_event(alert), sort_keys=True, ensure_ascii=False).encode()
    return payload(alert)


def _post(http: Any, webhook: WebhookSettings, alert_id: str, body: bytes) -> tuple[int | None, str | None]:
    """(status, None) for an answer, (None, error) when there was none."""
    import httpx

    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "onionscope-alerts",
        DELIVERY_HEADER: alert_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(webhook.secret, timestamp, body),
    }
    if webhook.body_format == "misp" and webhook.misp_key:
        headers["Authorization"] = webhook.misp_key
    try:
        response = http.post(webhook.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"
    return response.status_code, None


def _retryable(status: int | None) -> bool:
    return status is None or status >= 500 or status in RETRYABLE_STATUSES


def _due(client: Any, prefix: str, now: datetime) -> list[dict[str, Any]]:
    from elasticsearch import NotFoundError

    query = {"bool": {"filter": [{"terms": {"webhook_state": list(DUE_STATES)}}],
                      "should": [{"bool": {"must_not": [{"exists": {"field": "webhook_next_at"}}]}},
                                 {"range": {"webhook_next_at": {"lte": _iso(now)}}}],
                      "minimum_should_match": 1}}
    try:
        client.indices.refresh(index=alerts_index(prefix))
        response = client.search(index=alerts_index(prefix), query=query, size=BATCH, seq_no_primary_term=True,
                                 sort=[{"created_at": "asc"}, {"alert_id": "asc"}])
    except NotFoundError:
        return []
    return response["hits"]["hits"]


def due_count(client: Any, prefix: str) -> int:
    """How many alerts wait for the webhook and are due now (0 without an alerts index)."""
    return len(_due(client, prefix, datetime.now(timezone.utc)))


def _claim(client: Any, prefix: str, hit: dict[str, Any], now: datetime) -> bool:
    from elasticsearch import ConflictError

    try:
        client.update(index=alerts_index(prefix), id=hit["_id"], if_seq_no=hit["_seq_no"],
                      if_primary_term=hit["_primary_term"],
                      doc={"webhook_state": "sending", "webhook_next_at": _iso(now + timedelta(seconds=CLAIM_SECONDS))})
    except ConflictError:
        return False  # another pass took it
    return True


def deliver_pending(
    client: Any, prefix: str, webhook: WebhookSettings, *, http: Any = None,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], datetime] | None = None,
) -> DeliverySummary:
    """Send every alert that is due to ``webhook``; returns what happened.

    ``http`` is an ``httpx.Client`` (default: one made here, no redirects, no
    proxies from the environment); ``sleep`` waits between attempts.
    Elasticsearch errors propagate.
    """
    import httpx

    clock = clock or (lambda: datetime.now(timezone.utc))
    own_http = http is None
    if own_http:
        http = httpx.Client(timeout=webhook.timeout_seconds, follow_redirects=False, trust_env=False)
    summary = DeliverySummary()
    try:
        for hit in _due(client, prefix, clock()):
            if not _claim(client, prefix, hit, clock()):
                continue
            _deliver_one(client, prefix, webhook, http, hit["_id"], hit["_source"], summary, sleep, clock)
    finally:
        if own_http:
            http.close()
    return summary


def _deliver_one(client: Any, prefix: str, webhook: WebhookSettings, http: Any, alert_id: str,
                 alert: dict[str, Any], summary: DeliverySummary, sleep: Callable[[float], None],
                 clock: Callable[[], datetime]) -> None:
    body = body_for(webhook, alert)
    attempts = int(alert.get("webhook_attempts") or 0)
    deliveries = list(alert.get("deliveries") or [])
    state = "retrying"
    delivered_at = None
    wait = webhook.backoff_seconds * (2 ** min(attempts, 20))
    for attempt_in_pass in range(webhook.attempts):
        if attempt_in_pass:
            sleep(wait)
            wait *= 2
        started = clock()
        begun = time.monotonic()
        status, error = _post(http, webhook, alert_id, body)
        attempts += 1
        summary.attempts += 1
        deliveries.append({"at": _iso(started), "attempt": attempts, "status": status, "error": error,
                           "ms": round((time.monotonic() - begun) * 1000)})
        if status is not None and 200 <= status < 300:
            state, delivered_at = "delivered", _iso(clock())
            break
        logger.warning("alert %s: webhook attempt %d failed: %s", alert_id, attempts, error or f"HTTP {status}")
        if not _retryable(status):
            state = "failed"
            break
        if attempts >= webhook.max_attempts:
            state = "failed"
            break
    changes: dict[str, Any] = {"webhook_state": state, "webhook_attempts": attempts,
                               "deliveries": deliveries[-MAX_RECORDED:], "webhook_next_at": None}
    if state == "delivered":
        changes["webhook_delivered_at"] = delivered_at
        summary.delivered += 1
    elif state == "failed":
        summary.failed += 1
    else:
        changes["webhook_next_at"] = _iso(clock() + timedelta(seconds=min(wait, MAX_WAIT_SECONDS)))
        summary.retrying += 1
    client.update(index=alerts_index(prefix), id=alert_id, doc=changes, refresh="wait_for")
