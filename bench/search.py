"""Search latency: the API (real HTTP to uvicorn), a bare relay and Elasticsearch directly, side by side.

    .venv/bin/python -m bench.search [--listings 120000] [--pages 80000] [--rounds 30] [--max-seconds 240]

Loads the synthetic corpus of :mod:`bench.corpus` into the ``bench-search``
prefix of the configured Elasticsearch (once: a marker makes later runs reuse
it), starts ``onionscope serve`` and :mod:`bench.relay_server` on free
loopback ports, and times a fixed mix in one run, rotating the order of the
three paths so all see the same cache state:

* full text with facets and highlights (``/search?kind=listings&limit=20``,
  and the same body sent to ``_search``);
* the wallet pivot (``/wallets/{address}``, and the same ``_msearch`` that
  :func:`search.pivots.wallet_detail` sends).

Paths: ``direct`` is the Python Elasticsearch client; ``api`` is onionscope
(bearer token check, parsing, shaping, an audit document per search, as in
production); ``relay`` is the floor: a bare FastAPI + aiohttp hop in the
API's own stack that forwards the same request bytes and returns the answer
untouched, so ``api - relay`` is onionscope's own work and ``relay -
direct`` the price of any Python HTTP hop on this machine.  The HTTP paths
use urllib3 (the library under the Elasticsearch client) with one kept-alive
connection, and every path decodes the JSON answer.  Prints p50/p95 per path
and the ratios to direct.
Targets: API p95 <= 100 ms; API/direct <= 1.3.  Load is bounded by
``--rounds`` and ``--max-seconds`` and stays on loopback.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench-search"
FULL_TEXT_QUERIES = (
    "fentanyl",
    'cocaine "next day delivery"',
    "mdma coin:xmr",
    '"stealth shipping" market:torrez',
    "ketamine OR lsd",
    "heroin -escrow",
    "substance:fentanyl country:nl",
    "pills premium after:2025-09-01",
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _spawn(command: list[str], banner: str, environment: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``command`` and return it with the loopback URL its first line announces after ``banner``."""
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(re.escape(banner) + r" (http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"{command[2]} did not start: {line!r} {process.stderr.read()}")
    return process, match.group(1)


def start_server(settings, var_dir: str) -> tuple[subprocess.Popen, str]:
    environment = dict(os.environ)
    environment.update({"ONIONSCOPE_ES_URL": settings.es_url, "ONIONSCOPE_INDEX_PREFIX": PREFIX,
                        "ONIONSCOPE_VAR_DIR": var_dir})
    return _spawn([sys.executable, "-m", "onionscope.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                  "serving on", environment)


def start_relay(es_url: str) -> tuple[subprocess.Popen, str]:
    return _spawn([sys.executable, "-m", "bench.relay_server", es_url], "relay on")


def pool_for(base_url: str) -> Any:
    """One kept-alive urllib3 connection to ``base_url`` (the library the Elasticsearch client uses)."""
    import urllib3

    host, port = base_url.rsplit("/", 1)[1].split(":")
    return urllib3.HTTPConnectionPool(host, int(port), maxsize=1, timeout=30, retries=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--listings", type=int, default=120_000)
    parser.add_argument("--pages", type=int, default=80_000)
    parser.add_argument("--rounds", type=int, default=30, help="passes over the query mix")
    parser.add_argument("--max-seconds", type=float, default=240, help="stop measuring after this long")
    args = parser.parse_args(argv)

    import json

    import urllib3

    from bench.corpus import load, sample_wallets
    from config.settings import load_settings
    from pipelines.es_client import ensure_reachable
    from search.auth import create_token
    from search.connection import connect
    from search.es_steps import msearch_lines
    from search.pivots import wallet_detail, wallet_detail_steps
    from config.schema import alias_name
    from search.query import parse
    from search.results import build_search_body

    settings = load_settings()
    client = connect(settings).options(request_timeout=60)
    ensure_reachable(client, settings)
    print(f"corpus: seed {args.seed}, {args.listings} listings + {args.pages} pages into prefix {PREFIX!r} at {settings.es_url}")
    load(client, PREFIX, args.seed, args.listings, args.pages)
    counts = {kind: client.count(index=alias_name(PREFIX, kind))["count"] for kind in ("listings", "pages", "vendors", "wallets")}
    print(f"documents: {counts}")
    wallets = sample_wallets(args.seed, args.listings, 12)
    token, record = create_token(client, PREFIX, "viewer", "bench")

    bodies = {query: build_search_body(parse(query), "listings", limit=20) for query in FULL_TEXT_QUERIES}

    def direct_full_text(query: str) -> int:
        return len(client.search(index=alias_name(PREFIX, "listings"), body=bodies[query])["hits"]["hits"])

    def direct_wallet(address: str) -> int:
        detail = wallet_detail(client, PREFIX, address)
        return len(detail["listings"]) if detail else 0

    # What the relay forwards: the same request bodies, as Elasticsearch takes them.
    relay_bodies = {query: json.dumps(body).encode() for query, body in bodies.items()}
    relay_msearch = {}
    for address in wallets:
        request = next(wallet_detail_steps(PREFIX, address))
        relay_msearch[address] = b"".join(json.dumps(line).encode() + b"\n" for line in msearch_lines(request))

    with tempfile.TemporaryDirectory(prefix="bench-search-") as var_dir:
        servers: list[subprocess.Popen] = []
        try:
            process, base_url = start_server(settings, var_dir)
            servers.append(process)
            relay_process, relay_url = start_relay(settings.es_url)
            servers.append(relay_process)
            http = pool_for(base_url)
            relay_http = pool_for(relay_url)
            headers = {"authorization": f"Bearer {token}", "accept": "application/json"}

            def api_get(path: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
                response = http.request("GET", path, fields=fields, headers=headers)
                if response.status != 200:
                    raise SystemExit(f"API answered {response.status} to {path}: {response.data[:300]!r}")
                return json.loads(response.data)

            def relay_post(path: str, body: bytes, content_type: str) -> dict[str, Any]:
                response = relay_http.request("POST", path, body=body, headers={"content-type": content_type})
                if response.status != 200:
                    raise SystemExit(f"relay answered {response.status} to {path}: {response.data[:300]!r}")
                return json.loads(response.data)

            deadline = time.monotonic() + 30
            while True:
                try:
                    if http.request("GET", "/stats", headers=headers).status == 200:
                        break
                except urllib3.exceptions.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server never answered")
                time.sleep(0.1)

            def api_full_text(query: str) -> int:
                return len(api_get("/search", {"q": query, "kind": "listings", "limit": "20"})["hits"])

            def api_wallet(address: str) -> int:
                return len(api_get(f"/wallets/{quote(address, safe='')}")["listings"])

            def relay_full_text(query: str) -> int:
                answer = relay_post(f"/relay/{PREFIX}-listings/_search", relay_bodies[query], "application/json")
                return len(answer["hits"]["hits"])

            def relay_wallet(address: str) -> int:
                answer = relay_post("/relay/_msearch", relay_msearch[address], "application/x-ndjson")
                return len(answer["responses"][1]["hits"]["hits"])

            mix = [("full text + facets + highlights", query,
                    {"direct": direct_full_text, "relay": relay_full_text, "api": api_full_text})
                   for query in FULL_TEXT_QUERIES]
            mix += [("wallet pivot", address, {"direct": direct_wallet, "relay": relay_wallet, "api": api_wallet})
                    for address in wallets]
            # Warm every path (and check they agree) before timing.
            for _, key, calls in mix:
                answers = {path: call(key) for path, call in calls.items()}
                if len(set(answers.values())) != 1:
                    raise SystemExit(f"the paths disagree on {key!r}: {answers}")
            timings: dict[tuple[str, str], list[float]] = {}
            started = time.monotonic()
            rounds = 0
            for round_number in range(args.rounds):
                if time.monotonic() - started > args.max_seconds:
                    break
                for label, key, calls in mix:
                    # Rotate the order so no path always runs first (or last) on a warm cache.
                    order = list(calls.items())
                    shift = round_number % len(order)
                    for path, call in order[shift:] + order[:shift]:
                        begin = time.perf_counter()
                        call(key)
                        timings.setdefault((label, path), []).append((time.perf_counter() - begin) * 1000)
                rounds += 1
            http.close()
            relay_http.close()
        finally:
            for server in servers:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()

    print(f"\n{rounds} rounds over {len(mix)} requests per path in {time.monotonic() - started:.0f} s "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print("paths: direct = the Python Elasticsearch client; relay = the floor, a bare FastAPI/aiohttp hop that\n"
          "forwards the same request bytes (no auth, shaping or audit; bench/relay_server.py); api = onionscope serve")
    print(f"{'mix':<34}{'path':<8}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p50 x':>8}{'p95 x':>8}")
    whole: dict[str, list[float]] = {"direct": [], "relay": [], "api": []}
    for label in dict.fromkeys(label for label, _ in timings):
        direct_values = timings[(label, "direct")]
        for path in ("direct", "relay", "api"):
            values = timings[(label, path)]
            whole[path].extend(values)
            print(f"{label:<34}{path:<8}{len(values):>6}{statistics.median(values):>10.1f}{percentile(values, 0.95):>10.1f}"
                  f"{statistics.median(values) / statistics.median(direct_values):>8.2f}"
                  f"{percentile(values, 0.95) / percentile(direct_values, 0.95):>8.2f}")
    p50 = {path: statistics.median(values) for path, values in whole.items()}
    p95 = {path: percentile(values, 0.95) for path, values in whole.items()}
    print("\nwhole mix: " + "; ".join(f"{path} p50 {p50[path]:.1f} ms, p95 {p95[path]:.1f} ms" for path in whole))
    print(f"API overhead over direct: {p50['api'] - p50['direct']:.1f} ms at p50, of which the bare HTTP hop "
          f"(relay) is {p50['relay'] - p50['direct']:.1f} ms")
    print(f"relay/direct (the floor for any Python HTTP layer here): p50 {p50['relay'] / p50['direct']:.2f}, "
          f"p95 {p95['relay'] / p95['direct']:.2f}")
    print(f"API p95 {p95['api']:.1f} ms (target <= 100): {'met' if p95['api'] <= 100 else 'NOT met'}")
    ratio, ratio95 = p50["api"] / p50["direct"], p95["api"] / p95["direct"]
    print(f"API/direct p50 ratio {ratio:.3f}, p95 ratio {ratio95:.3f} (target <= 1.3): "
          f"{'met' if ratio <= 1.3 and ratio95 <= 1.3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
