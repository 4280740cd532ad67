"""The tor pool's health state machine (crawler.tor.pool_health) and how it drives the host pinning."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.tor.isolation import HostIsolation
from crawler.tor.pool_health import (
    HEALTHY, RECOVERING, UNHEALTHY, ClientHealth, PoolHealth, Transition, circuit_outcome,
)
from crawler.tor.socks5 import SocksAddress

CLIENTS = [SocksAddress("127.0.0.1", 9050), SocksAddress("127.0.0.1", 9052), SocksAddress("127.0.0.1", 9054)]


def test_a_new_client_is_healthy():
    health = ClientHealth("a")
    assert health.state == HEALTHY and health.healthy and health.reason == ""


def test_bootstrap_below_100_makes_it_unhealthy_and_100_does_not_bring_it_back():
    health = ClientHealth("a")
    assert health.bootstrap(100) is None
    assert health.bootstrap(85) == Transition("a", HEALTHY, UNHEALTHY, "bootstrap at 85%")
    assert health.bootstrap(100) is None  # only the monitor's recovery brings it back
    assert health.state == UNHEALTHY


def test_a_lost_control_port_makes_it_unhealthy_at_once():
    health = ClientHealth("a")
    transition = health.control_lost("connection closed")
    assert transition is not None and transition.after == UNHEALTHY
    assert "ControlPort lost (connection closed)" == health.reason


def test_circuit_failures_count_only_in_a_row():
    health = ClientHealth("a", circuit_failures=3)
    for _ in range(5):
        assert health.circuit(True) is None
        assert health.circuit(True) is None
        assert health.circuit(False) is None  # a built circuit: the run starts again
    assert health.healthy
    health.circuit(True)
    health.circuit(True)
    transition = health.circuit(True)
    assert transition is not None and transition.after == UNHEALTHY and "3 circuits failed in a row" in transition.reason


def test_socks_failures_count_only_in_a_row():
    health = ClientHealth("a", socks_failures=2)
    assert health.socks(False) is None
    assert health.socks(True) is None
    assert health.socks(False) is None
    assert health.healthy
    transition = health.socks(False)
    assert transition is not None and transition.after == UNHEALTHY


def test_the_first_reason_stays_and_later_failures_change_nothing():
    health = ClientHealth("a", socks_failures=1)
    health.control_lost()
    assert health.socks(False) is None and health.bootstrap(0) is None and health.circuit(True) is None
    assert health.reason == "ControlPort lost" and health.times_unhealthy == 1


def test_recovery_goes_through_recovering_and_resets_the_counters():
    health = ClientHealth("a", socks_failures=2, circuit_failures=2)
    health.circuit(True)
    health.socks(False)
    health.socks(False)
    assert health.recovering("restarting") == Transition("a", UNHEALTHY, RECOVERING, "restarting")
    assert health.recovering("again") is None  # only from UNHEALTHY
    assert health.recovered() == Transition("a", RECOVERING, HEALTHY, "bootstrapped again")
    assert health.healthy and health.reason == ""
    # The counters started again: one failure of each kind is not enough.
    assert health.socks(False) is None and health.circuit(True) is None


def test_recovered_on_a_healthy_client_changes_nothing_and_recovering_needs_unhealthy():
    health = ClientHealth("a")
    assert health.recovered() is None
    assert health.recovering("restarting") is None
    assert health.healthy


def test_thresholds_must_be_positive():
    with pytest.raises(ValueError):
        ClientHealth("a", circuit_failures=0)
    with pytest.raises(ValueError):
        ClientHealth("a", socks_failures=0)


EVENTS = st.sampled_from(["lost", "boot50", "boot100", "circ_fail", "circ_ok", "socks_fail", "socks_ok",
                          "recovering", "recovered"])


@settings(max_examples=200)
@given(st.lists(EVENTS, max_size=60))
def test_every_event_sequence_follows_the_allowed_transitions(events):
    health = ClientHealth("a", circuit_failures=3, socks_failures=2)
    allowed = {(HEALTHY, UNHEALTHY), (UNHEALTHY, RECOVERING), (RECOVERING, HEALTHY), (UNHEALTHY, HEALTHY)}
    for event in events:
        before = health.state
        transition = {
            "lost": lambda: health.control_lost(),
            "boot50": lambda: health.bootstrap(50),
            "boot100": lambda: health.bootstrap(100),
            "circ_fail": lambda: health.circuit(True),
            "circ_ok": lambda: health.circuit(False),
            "socks_fail": lambda: health.socks(False),
            "socks_ok": lambda: health.socks(True),
            "recovering": lambda: health.recovering("restart"),
            "recovered": lambda: health.recovered(),
        }[event]()
        if transition is None:
            assert health.state == before
        else:
            assert (transition.before, transition.after) == (before, health.state)
            assert (before, health.state) in allowed
        # Only the recovery events ever make a client healthy.
        if before != HEALTHY and health.state == HEALTHY:
            assert event == "recovered"


def test_pool_health_moves_only_the_unhealthy_clients_hosts_and_brings_them_back():
    isolation = HostIsolation(CLIENTS)
    hosts = [f"host{index}.onion" for index in range(300)]
    before = {host: isolation.client_for(host) for host in hosts}
    changes: list[tuple[Transition, tuple[SocksAddress, ...]]] = []

    def on_change(transition, healthy):
        changes.append((transition, healthy))
        isolation.set_healthy(healthy)

    pool = PoolHealth(CLIENTS, socks_failures=2, on_change=on_change)
    pool.socks(CLIENTS[1], False)
    assert changes == []
    pool.socks(CLIENTS[1], False)
    assert [transition.after for transition, _ in changes] == [UNHEALTHY]
    assert changes[-1][1] == (CLIENTS[0], CLIENTS[2])
    during = {host: isolation.client_for(host) for host in hosts}
    assert {host for host in hosts if during[host] != before[host]} == {
        host for host in hosts if before[host] == CLIENTS[1]}
    assert pool.snapshot()[1] == {"client": "127.0.0.1:9052", "state": UNHEALTHY,
                                  "reason": "2 requests in a row could not reach its SOCKS port", "times_unhealthy": 1}
    pool.recovering(CLIENTS[1], "reattaching")
    assert pool.healthy() == (CLIENTS[0], CLIENTS[2])
    pool.recovered(CLIENTS[1])
    assert pool.healthy() == tuple(CLIENTS)
    assert {host: isolation.client_for(host) for host in hosts} == before


def test_pool_health_is_safe_from_several_threads():
    seen: list[Transition] = []
    pool = PoolHealth(CLIENTS[:1], socks_failures=1000, on_change=lambda transition, healthy: seen.append(transition))

    def fail_many():
        for _ in range(250):
            pool.socks(CLIENTS[0], False)

    threads = [threading.Thread(target=fail_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 1000 failures in a row across threads: exactly the 1000th turns it unhealthy, once.
    assert [transition.after for transition in seen] == [UNHEALTHY]
    assert pool.state(CLIENTS[0]).socks_failures == 1000


def test_unknown_clients_are_refused():
    pool = PoolHealth(CLIENTS[:1])
    with pytest.raises(KeyError):
        pool.socks(CLIENTS[2], False)
    assert CLIENTS[2] not in pool and CLIENTS[0] in pool


def test_which_circuit_events_count():
    assert circuit_outcome("BUILT", "GENERAL", None) is False
    assert circuit_outcome("BUILT", "HS_CLIENT_REND", None) is False
    assert circuit_outcome("FAILED", "GENERAL", "TIMEOUT") is True
    assert circuit_outcome("FAILED", "HS_CLIENT_HSDIR", "CHANNEL_CLOSED") is True
    assert circuit_outcome("failed", "HS_VANGUARDS", "DESTROYED") is True
    # An onion service's own trouble, or no path for one circuit: not the client's health.
    assert circuit_outcome("FAILED", "HS_CLIENT_INTRO", "TIMEOUT") is None
    assert circuit_outcome("FAILED", "HS_CLIENT_REND", "DESTROYED") is None
    assert circuit_outcome("FAILED", "HS_CLIENT_HSDIR", "NOPATH") is None
    assert circuit_outcome("LAUNCHED", "GENERAL", None) is None
    assert circuit_outcome("CLOSED", "GENERAL", "FINISHED") is None
