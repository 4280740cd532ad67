"""PID verification before signalling: only tor started with our torrc is ever stopped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.testnet.tor_process import is_our_tor, reload_tor, stop_tor


def test_a_process_that_is_not_tor_is_never_signalled(tmp_path):
    torrc = tmp_path / "relay0.torrc"
    # A stand-in whose command line even names our torrc: argv[0] is not tor, so it must survive.
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-f", str(torrc)])
    try:
        assert not is_our_tor(bystander.pid, torrc)
        assert stop_tor([(bystander.pid, torrc)], grace_seconds=0.2) == []
        assert reload_tor(bystander.pid, torrc) is False  # SIGHUP would end this Python process
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_vanished_pids_are_not_ours(tmp_path):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    assert not is_our_tor(finished.pid, Path("/nonexistent.torrc"))
    assert stop_tor([(finished.pid, Path("/nonexistent.torrc"))], grace_seconds=0.1) == []
