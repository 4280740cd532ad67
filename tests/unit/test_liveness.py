"""Onion liveness (crawler.freshness.liveness): attempt reasons, a run's check of a host, the back-off."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.web._newclient import ResponseNeverReceived

from crawler.freshness.liveness import (
    DOWN,
    MAX_SAMPLES,
    RECENT_CHECKS,
    UNKNOWN,
    UP,
    Attempt,
    BackoffPolicy,
    CheckSummary,
    HostCheckBuilder,
    attempt_reason,
    backoff_state,
    recent_checks,
)
from crawler.tor.errors import OnionDescriptorNotFound, SocksHandshakeTimeout, SocksHostUnreachable, TorUnreachableError

HOST = "a" * 56 + ".onion"
T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
POLICY = BackoffPolicy(base_seconds=3600, max_seconds=6 * 3600)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def check(seconds: float, state: str, reason: str | None = None) -> CheckSummary:
    return CheckSummary(at(seconds), state, reason)


@pytest.mark.parametrize(("error", "reason"), [
    (SocksHostUnreachable("x"), "host_unreachable"),
    (OnionDescriptorNotFound("x"), "onion_descriptor_not_found"),
    (SocksHandshakeTimeout("x"), "handshake_timeout"),
    (TorUnreachableError("x"), "tor_unreachable"),
    (TwistedTimeoutError("x"), "timeout"),
    (TimeoutError(), "timeout"),
    (ResponseNeverReceived([]), "connection_lost"),
    (ValueError("<script>page text</script>"), "valueerror"),
])
def test_a_failed_attempt_is_named_by_its_kind_never_by_its_message(error: BaseException, reason: str) -> None:
    assert attempt_reason(error) == reason


def _builder(*attempts: tuple[bool, str | None, int | None]) -> HostCheckBuilder:
    builder = HostCheckBuilder(HOST, "job-1")
    for number, (up, reason, latency) in enumerate(attempts):
        builder.add(Attempt(HOST, at(number), up, reason, 200 if up else None, latency, f"http://{HOST}/{number}"))
    return builder


def test_a_host_that_answered_once_is_up_even_when_other_pages_failed() -> None:
    built = _builder((False, "timeout", 900), (True, None, 100), (False, "host_unreachable", 50)).build()
    assert (built.state, built.up, built.reason) == (UP, True, None)
    assert (built.attempts, built.answered, built.failed) == (3, 1, 2)
    assert built.reasons == {"timeout": 1, "host_unreachable": 1}
    assert (built.latency_ms_mean, built.latency_ms_max) == (350, 900)
    assert (built.checked_at, built.last_attempt_at) == (at(0), at(2))


def test_a_host_that_never_answered_is_down_with_its_most_frequent_reason() -> None:
    built = _builder((False, "onion_descriptor_not_found", 10), (False, "timeout", 10),
                     (False, "onion_descriptor_not_found", 10)).build()
    assert (built.state, built.up, built.reason) == (DOWN, False, "onion_descriptor_not_found")


def test_failures_on_our_side_of_tor_say_nothing_about_the_host() -> None:
    built = _builder((False, "tor_unreachable", 1), (False, "tor_unreachable", 1)).build()
    assert (built.state, built.up, built.reason) == (UNKNOWN, None, None)
    # A host-side failure among them makes it down.
    assert _builder((False, "tor_unreachable", 1), (False, "timeout", 1)).build().state == DOWN


def test_a_check_keeps_a_bounded_sample_and_exact_counts() -> None:
    built = _builder(*[(True, None, 5)] * (MAX_SAMPLES + 7)).build()
    assert len(built.samples) == MAX_SAMPLES and built.samples_truncated
    assert built.attempts == MAX_SAMPLES + 7
    with pytest.raises(ValueError):
        HostCheckBuilder(HOST, "job").build()


def test_no_history_and_an_up_host_never_back_off() -> None:
    assert backoff_state([], T0, POLICY).backing_off is False
    assert backoff_state([], T0, POLICY).state == UNKNOWN
    state = backoff_state([check(0, UP)], T0, POLICY)
    assert (state.state, state.backing_off, state.consecutive_down) == (UP, False, 0)


def test_a_dead_onion_backs_off_exponentially_up_to_the_cap() -> None:
    history = [check(0, UP)]
    waits = []
    for number in range(1, 6):
        history.append(check(number * 100_000, DOWN, "onion_descriptor_not_found"))
        state = backoff_state(history, T0 + timedelta(seconds=number * 100_000), POLICY)
        assert state.backing_off and state.consecutive_down == number
        waits.append(state.wait_seconds)
    assert waits == [3600, 7200, 14400, 21600, 21600]  # base, doubled, doubled, then the cap
    assert state.down_since == at(100_000) and state.last_up_at == at(0)
    assert state.last_down_reason == "onion_descriptor_not_found"
    assert state.next_check_at == at(500_000 + 21600)


def test_the_back_off_ends_at_next_check_at_exactly() -> None:
    history = [check(0, DOWN, "timeout"), check(10, DOWN, "timeout")]
    next_check = T0 + timedelta(seconds=10 + 7200)
    assert backoff_state(history, next_check - timedelta(seconds=1), POLICY).backing_off is True
    assert backoff_state(history, next_check, POLICY).backing_off is False


def test_an_onion_that_answers_again_is_back_on_the_normal_schedule() -> None:
    history = [check(0, DOWN, "timeout"), check(10, DOWN, "timeout"), check(20, UP)]
    state = backoff_state(history, T0 + timedelta(seconds=21), POLICY)
    assert (state.state, state.backing_off, state.consecutive_down, state.next_check_at) == (UP, False, 0, None)
    # The order the history comes in does not matter; unknown checks are skipped.
    shuffled = [history[2], check(15, UNKNOWN), history[0], history[1]]
    assert backoff_state(shuffled, T0 + timedelta(seconds=21), POLICY) == state


def test_a_zero_base_never_backs_off() -> None:
    state = backoff_state([check(0, DOWN, "timeout")], T0, BackoffPolicy(base_seconds=0))
    assert state.state == DOWN and state.consecutive_down == 1 and not state.backing_off
    assert state.next_check_at is None


def test_recent_checks_keep_one_per_job_oldest_first_and_are_capped() -> None:
    stored = [CheckSummary(at(n), UP, None, f"job-{n}").to_doc() for n in range(RECENT_CHECKS)]
    kept = recent_checks(stored + [{"at": "garbage", "state": UP}], CheckSummary(at(999), DOWN, "timeout", "job-new"))
    assert len(kept) == RECENT_CHECKS
    assert kept[-1]["job_id"] == "job-new" and kept[0]["job_id"] == "job-1"
    again = recent_checks(kept, CheckSummary(at(1000), UP, None, "job-new"))
    assert [entry["job_id"] for entry in again].count("job-new") == 1 and again[-1]["state"] == UP
