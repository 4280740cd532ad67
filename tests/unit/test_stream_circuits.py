"""crawler.tor.stream_circuits: tor's STREAM events (parsed by stem) give a host's circuit."""

from __future__ import annotations

import stem.response

from crawler.tor.stream_circuits import StreamCircuits

HOST = "a" * 56 + ".onion"


def _event(line: str):  # type: ignore[no-untyped-def]
    return stem.response.ControlMessage.from_str(f"650 {line}\r\n", "EVENT")


def test_a_succeeded_stream_names_the_circuit_of_its_host_for_the_watched_client_only() -> None:
    circuits = StreamCircuits("127.0.0.1:9050")
    circuits.note(_event(f"STREAM 11 NEW 0 {HOST}:80 SOURCE_ADDR=127.0.0.1:40000 PURPOSE=USER"))
    assert circuits.circuit_for("127.0.0.1:9050", f"http://{HOST}/x") is None
    circuits.note(_event(f"STREAM 11 SUCCEEDED 7 {HOST}:80"))
    assert circuits.circuit_for("127.0.0.1:9050", f"http://{HOST}/x") == "7"
    circuits.note(_event(f"STREAM 12 SUCCEEDED 9 {HOST}:80"))
    assert circuits.circuit_for("127.0.0.1:9050", f"http://{HOST.upper()}/y") == "9"
    # Another tor client's streams are not on this ControlPort.
    assert circuits.circuit_for("127.0.0.1:9051", f"http://{HOST}/x") is None
    assert circuits.circuit_for(None, f"http://{HOST}/x") is None


def test_an_unreadable_event_is_ignored() -> None:
    circuits = StreamCircuits("127.0.0.1:9050")
    circuits.note(object())
    circuits.note(_event("STREAM 11 FAILED 0 x.onion:80 REASON=TIMEOUT"))
    assert circuits.circuit_for("127.0.0.1:9050", "http://x.onion/") is None
