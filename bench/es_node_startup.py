"""Benchmark: how long the local Elasticsearch node takes to be usable, and its memory.

Run as ``.venv/bin/python -m bench.es_node_startup [--runs N] [--heap 512m]``.

Each run uses a fresh folder under var/ and a free port beside the shared node,
so a node already running on 9200 is not touched.  It prints, per run:

* seconds to unpack the cached integ-test-zip (first run only: later runs reuse it);
* seconds from launch to cluster health answering -- the figure ``services up`` waits for;
* seconds for a second ``start`` (it must find the node and return at once);
* the node's RSS once ready; seconds to stop it.

Then it checks that no process of those nodes survived, and prints the load
average, since the machine's load changes these figures more than anything else.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import time
import uuid
from pathlib import Path

from harness import elasticsearch_node
from config.settings import load_settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--heap", default="512m")
    args = parser.parse_args()

    scratch = load_settings().var_dir / f"bench-es-{uuid.uuid4().hex[:8]}"
    starts: list[float] = []
    settings = None
    try:
        for run in range(1, args.runs + 1):
            port = _free_port()
            settings = load_settings(environ={}).replace(
                var_dir=str(scratch), es_port=port, es_url=f"http://127.0.0.1:{port}", es_heap=args.heap)
            layout = elasticsearch_node.NodeLayout.from_settings(settings)
            began = time.monotonic()
            elasticsearch_node.ensure_distribution(layout)
            unpack = time.monotonic() - began
            result = elasticsearch_node.start(settings, timeout=900)
            again = elasticsearch_node.start(settings)
            rss = _rss_megabytes(result.pid)
            began = time.monotonic()
            elasticsearch_node.stop(settings)
            stop = time.monotonic() - began
            starts.append(result.seconds)
            print(f"run {run}: unpack {unpack:5.1f}s  start to health {result.seconds:5.1f}s  "
                  f"second start {again.seconds:4.2f}s (already running: {again.already_running})  "
                  f"RSS {rss:5.0f} MB (heap {args.heap})  stop {stop:4.1f}s")
            assert elasticsearch_node.running_pid(layout) is None, "a node survived its stop"
            shutil.rmtree(layout.data_dir, ignore_errors=True)
        print(f"start to health: median {statistics.median(starts):.1f}s over {len(starts)} runs; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        if settings is not None:
            elasticsearch_node.stop(settings)  # no-op unless a run failed half-way
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
