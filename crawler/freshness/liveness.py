"""Onion liveness: what one fetch attempt says about its host, one run's check of a host, and the back-off.

Liveness is a history.  Every fetch attempt that reaches the transport is an
:class:`Attempt`: up (the host answered with an HTTP status below 500) or down
with its reason -- the SOCKS error kind (``onion_descriptor_not_found``,
``host_unreachable``...), ``timeout``, ``http_503``, ... -- and its latency.
The attempts of one crawl run on one host make a :class:`HostCheck` (built by
:class:`HostCheckBuilder`, bounded): ``up`` when any attempt was answered,
``down`` when attempts failed and none was answered, ``unknown`` when every
failure was on our side (tor itself unreachable: :data:`LOCAL_REASONS`), which
says nothing about the host.  The pipelines store one check per host and run
(``<prefix>-onion-checks``) and the latest :data:`RECENT_CHECKS` on the onion
entity.

Back-off (:func:`backoff_state`, a pure function of that history): after
``n`` consecutive ``down`` checks (``unknown`` ones are skipped) a host is not
fetched again before ``last check + min(base * 2**(n-1), cap)``.  One ``up``
check resets ``n`` to 0: the host is back on the normal schedule.

Public API:

* :class:`Attempt`; :func:`attempt_reason` (exception) -> the reason name;
  :data:`LOCAL_REASONS`;
* :class:`HostCheck`, :class:`HostCheckBuilder` (host, job_id) -- ``add``
  (attempt), ``build`` () -> :class:`HostCheck`;
* :class:`CheckSummary` -- (at, state, reason): what the back-off reads;
* :class:`BackoffPolicy` (base_seconds, max_seconds); :class:`Backoff`;
  :func:`backoff_state` (history, now, policy) -> :class:`Backoff`;
* :func:`recent_checks` (stored entries, new summary) -> the entity's
  ``recent_checks`` with ``new`` added, one per job, the last :data:`RECENT_CHECKS`.

Reasons are names from code (exception classes, SOCKS error kinds, HTTP
statuses), never text from a site.  Pure; nothing here does I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from crawler.freshness.instants import parse_instant, utc_iso

UP, DOWN, UNKNOWN = "up", "down", "unknown"
# Failures on our side of tor: they say nothing about the onion.
LOCAL_REASONS = frozenset({"tor_unreachable", "not_configured", "authentication_rejected", "protocol_error"})
# Attempts kept in full per host and run; the counts stay exact beyond it.
MAX_SAMPLES = 100
# Run-level checks kept on the onion entity (what the back-off reads).
RECENT_CHECKS = 20
REASON_MAX_CHARS = 64


@dataclass(frozen=True)
class Attempt:
    """One fetch attempt of ``url`` on ``host``: answered (``up``) or not, why not, how long it took."""

    host: str
    at: str
    up: bool
    reason: str | None = None
    status: int | None = None
    latency_ms: int | None = None
    url: str = ""

    def to_doc(self) -> dict[str, Any]:
        return {"at": self.at, "up": self.up, "reason": self.reason, "status": self.status,
                "latency_ms": self.latency_ms, "url": self.url[:2048]}


def attempt_reason(error: BaseException) -> str:
    """The reason a fetch failed, as a short stable name.

    Tor transport errors give their ``stats_key`` (``host_unreachable``,
    ``onion_descriptor_not_found``, ``tor_unreachable``...); timeouts give
    ``timeout``; a connection closed before or while answering gives
    ``connection_lost``; anything else its lower-case class name.
    """
    stats_key = getattr(type(error), "stats_key", None)
    if isinstance(stats_key, str) and stats_key:
        return stats_key[:REASON_MAX_CHARS]
    name = type(error).__name__
    if isinstance(error, TimeoutError) or name in ("TimeoutError", "TCPTimedOutError", "UserTimeout"):
        return "timeout"
    if name in ("ResponseNeverReceived", "ConnectionLost", "ConnectionDone", "ResponseFailed",
                "ConnectionAborted", "_ResponseFailed", "PotentialDataLoss"):
        return "connection_lost"
    if name == "ResponseDataLossError":
        return "data_loss"
    return name.lower()[:REASON_MAX_CHARS]


@dataclass(frozen=True)
class HostCheck:
    """One run's check of one host: its state and what its attempts said."""

    host: str
    job_id: str
    state: str  # UP, DOWN or UNKNOWN
    checked_at: str  # the first attempt
    last_attempt_at: str
    attempts: int
    answered: int
    failed: int
    reasons: dict[str, int]
    reason: str | None  # the most frequent host-side reason of a down check
    last_status: int | None
    latency_ms_mean: int | None
    latency_ms_max: int | None
    samples: tuple[Attempt, ...]
    samples_truncated: bool

    @property
    def up(self) -> bool | None:
        return {UP: True, DOWN: False}.get(self.state)

    def summary(self) -> "CheckSummary":
        return CheckSummary(self.checked_at, self.state, self.reason, self.job_id, self.latency_ms_mean)


class HostCheckBuilder:
    """Collects the attempts of one host in one run; memory bounded by :data:`MAX_SAMPLES`."""

    def __init__(self, host: str, job_id: str):
        self.host = host
        self.job_id = job_id
        self.first_at: str | None = None
        self.last_at: str | None = None
        self.attempts = 0
        self.answered = 0
        self.reasons: Counter[str] = Counter()
        self.last_status: int | None = None
        self.latency_total = 0
        self.latency_count = 0
        self.latency_max: int | None = None
        self.samples: list[Attempt] = []

    def add(self, attempt: Attempt) -> None:
        self.attempts += 1
        if self.first_at is None or attempt.at < self.first_at:
            self.first_at = attempt.at
        if self.last_at is None or attempt.at >= self.last_at:
            self.last_at = attempt.at
        if attempt.status is not None:
            self.last_status = attempt.status
        if attempt.up:
            self.answered += 1
        elif attempt.reason:
            self.reasons[attempt.reason[:REASON_MAX_CHARS]] += 1
        if attempt.latency_ms is not None:
            self.latency_total += attempt.latency_ms
            self.latency_count += 1
            self.latency_max = max(self.latency_max or 0, attempt.latency_ms)
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(attempt)

    def build(self) -> HostCheck:
        """The check; raises ValueError when no attempt was added."""
        if self.first_at is None or self.last_at is None:
            raise ValueError(f"no attempt on {self.host}")
        host_side = Counter({reason: n for reason, n in self.reasons.items() if reason not in LOCAL_REASONS})
        if self.answered:
            state = UP
        elif host_side:
            state = DOWN
        else:
            state = UNKNOWN
        return HostCheck(
            host=self.host, job_id=self.job_id, state=state, checked_at=self.first_at, last_attempt_at=self.last_at,
            attempts=self.attempts, answered=self.answered, failed=self.attempts - self.answered,
            reasons=dict(self.reasons), reason=host_side.most_common(1)[0][0] if state == DOWN else None,
            last_status=self.last_status,
            latency_ms_mean=round(self.latency_total / self.latency_count) if self.latency_count else None,
            latency_ms_max=self.latency_max, samples=tuple(self.samples),
            samples_truncated=self.attempts > len(self.samples),
        )


@dataclass(frozen=True)
class CheckSummary:
    """A check as the back-off reads it (and the onion entity keeps it)."""

    at: str
    state: str
    reason: str | None = None
    job_id: str | None = None
    latency_ms: int | None = None

    def to_doc(self) -> dict[str, Any]:
        return {"at": self.at, "state": self.state, "reason": self.reason, "job_id": self.job_id,
                "latency_ms": self.latency_ms}

    @classmethod
    def from_doc(cls, doc: Any) -> "CheckSummary | None":
        """The summary a stored entry holds, or None for an entry that is not one."""
        if not isinstance(doc, dict) or parse_instant(doc.get("at")) is None or doc.get("state") not in (UP, DOWN, UNKNOWN):
            return None
        latency = doc.get("latency_ms")
        return cls(str(doc["at"]), str(doc["state"]), doc.get("reason") if isinstance(doc.get("reason"), str) else None,
                   doc.get("job_id") if isinstance(doc.get("job_id"), str) else None,
                   latency if isinstance(latency, int) and not isinstance(latency, bool) else None)


@dataclass(frozen=True)
class BackoffPolicy:
    """First wait after a down check (``base_seconds``; 0: never back off) and the longest wait."""

    base_seconds: float = 3600.0
    max_seconds: float = 7 * 86400.0

    @property
    def enabled(self) -> bool:
        return self.base_seconds > 0


@dataclass(frozen=True)
class Backoff:
    """Where a host stands: its state, the down streak, and until when it is left alone."""

    state: str  # UP, DOWN or UNKNOWN (no check yet)
    consecutive_down: int = 0
    down_since: str | None = None
    last_check_at: str | None = None
    last_up_at: str | None = None
    last_down_reason: str | None = None
    next_check_at: str | None = None
    backing_off: bool = False
    wait_seconds: float = 0.0

    def to_doc(self) -> dict[str, Any]:
        """The onion entity's liveness fields."""
        return {"consecutive_down": self.consecutive_down, "down_since": self.down_since,
                "last_check_at": self.last_check_at, "last_up_at": self.last_up_at,
                "last_down_reason": self.last_down_reason, "next_check_at": self.next_check_at}


def backoff_state(history: Iterable[CheckSummary], now: datetime, policy: BackoffPolicy) -> Backoff:
    """Where a host stands after ``history`` (its checks, any order), at ``now``.

    ``unknown`` checks are skipped.  With ``n`` down checks since the last up
    one, the host is backing off until the last check plus
    ``min(base * 2**(n-1), max)``; with none (or ``base_seconds`` 0) it is
    not.  Returns a :class:`Backoff`; raises nothing.
    """
    checks = sorted((c for c in history if c.state in (UP, DOWN) and parse_instant(c.at) is not None),
                    key=lambda c: parse_instant(c.at))  # type: ignore[arg-type, return-value]
    if not checks:
        return Backoff(UNKNOWN)
    last = checks[-1]
    last_up = next((c for c in reversed(checks) if c.state == UP), None)
    streak: list[CheckSummary] = []
    for check in reversed(checks):
        if check.state == UP:
            break
        streak.append(check)
    if not streak:
        return Backoff(UP, last_check_at=last.at, last_up_at=last_up.at if last_up else None)
    count = len(streak)
    # 2**(n-1) grows past any cap quickly; stop the exponent before it overflows a float.
    wait = min(policy.base_seconds * 2.0 ** min(count - 1, 64), policy.max_seconds) if policy.enabled else 0.0
    last_at = parse_instant(last.at)
    assert last_at is not None
    next_check = last_at + timedelta(seconds=wait)
    return Backoff(
        DOWN, consecutive_down=count, down_since=streak[-1].at, last_check_at=last.at,
        last_up_at=last_up.at if last_up else None, last_down_reason=last.reason,
        next_check_at=utc_iso(next_check) if policy.enabled else None,
        backing_off=policy.enabled and now < next_check, wait_seconds=wait,
    )


def recent_checks(existing: Iterable[Any], new: CheckSummary, keep: int = RECENT_CHECKS) -> list[dict[str, Any]]:
    """The entity's stored summaries with ``new`` added (once per job), oldest first, the last ``keep``."""
    summaries = [s for s in (CheckSummary.from_doc(doc) for doc in existing) if s is not None]
    summaries = [s for s in summaries if not (new.job_id and s.job_id == new.job_id)]
    summaries.append(new)
    summaries.sort(key=lambda s: parse_instant(s.at))  # type: ignore[arg-type, return-value]
    return [s.to_doc() for s in summaries[-keep:]]


__all__ = [
    "Attempt", "Backoff", "BackoffPolicy", "CheckSummary", "DOWN", "HostCheck", "HostCheckBuilder", "LOCAL_REASONS",
    "MAX_SAMPLES", "RECENT_CHECKS", "UNKNOWN", "UP", "attempt_reason", "backoff_state", "recent_checks",
]
