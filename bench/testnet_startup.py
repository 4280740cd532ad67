"""Benchmark: how fast the private Tor network is usable, and what it costs in memory.

Run as ``.venv/bin/python -m bench.testnet_startup [--runs N] [--relays R] [--settle S]``.

Each run brings up a fresh network (new folder, a free port block beside the
default one; run 1 generates the authority keys, later runs reuse them from a
key cache as the test fixture does) with one onion service in front of a
tiny HTTP server on 127.0.0.1, and prints:

* seconds at the end of each phase (keys and torrcs, consensus listing every
  relay, clients at bootstrap 100 %, the onion service answering through the
  client) -- target: ready in about 20 s;
* the number of tor processes and their total RSS when ready and again after
  ``--settle`` seconds of idling (consensus churn) -- target: about 115 MB
  for 7 processes.

Then it tears the network down and checks that none of its PIDs survived.
"""

from __future__ import annotations

import argparse
import http.server
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from harness.testnet.network import OnionServiceSpec, TestNetwork, free_base_port
from harness.testnet.tor_process import is_our_tor


def _rss_megabytes(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def run_once(relays: int, settle: float, key_cache: Path) -> dict[str, float]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="onionscope-bench-testnet-") as folder:
        network = TestNetwork(Path(folder), free_base_port(31000, relays=relays), relays=relays,
                              authority_key_cache=key_cache)
        try:
            manifest = network.up([OnionServiceSpec("bench", f"127.0.0.1:{server.server_address[1]}")],
                                  timeout=180, progress=None)
            pids = [node["pid"] for node in manifest["nodes"] if node["pid"]]
            figures = dict(manifest["last_up_timings"])
            figures["processes"] = len(pids)
            figures["rss_ready_mb"] = _rss_megabytes(pids)
            time.sleep(settle)  # deliberately idle: memory after a few consensus rounds
            figures["rss_settled_mb"] = _rss_megabytes(pids)
        finally:
            network.down()
            server.shutdown()
        torrcs = {node["pid"]: Path(node["torrc"]) for node in manifest["nodes"] if node["pid"]}
        figures["survivors"] = sum(is_our_tor(pid, torrc) for pid, torrc in torrcs.items())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--relays", type=int, default=2, help="relays besides the 3 authorities (default 2: 7 tors)")
    parser.add_argument("--settle", type=float, default=30.0, help="idle seconds before the second RSS reading")
    args = parser.parse_args()
    results = []
    key_cache = Path(tempfile.mkdtemp(prefix="onionscope-bench-keys-"))
    for run in range(1, args.runs + 1):
        # Run 1 makes the authority keys (cold, as a first `testnet up`); later runs reuse them (as tests do).
        figures = run_once(args.relays, args.settle, key_cache)
        results.append(figures)
        print(
            f"run {run} ({'new keys' if run == 1 else 'cached keys'}): keys {figures['keys_and_torrcs']:.1f} s, consensus {figures['consensus']:.1f} s, "
            f"bootstrapped {figures['clients_bootstrapped']:.1f} s, onion answers (ready) "
            f"{figures['onion_services_answer']:.1f} s; {figures['processes']} tor processes, "
            f"RSS {figures['rss_ready_mb']:.0f} MB ready, {figures['rss_settled_mb']:.0f} MB after "
            f"{args.settle:.0f} s; survivors after down: {figures['survivors']}",
            flush=True,
        )
    shutil.rmtree(key_cache, ignore_errors=True)
    ready = [figures["onion_services_answer"] for figures in results]
    settled = [figures["rss_settled_mb"] for figures in results]
    print(f"ready: median {statistics.median(ready):.1f} s (target ~20 s, ratio "
          f"{statistics.median(ready) / 20:.2f}); RSS settled: median {statistics.median(settled):.0f} MB "
          f"(target ~115 MB, ratio {statistics.median(settled) / 115:.2f})")


if __name__ == "__main__":
    main()
