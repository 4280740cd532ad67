"""Search latency: the API (real HTTP to uvicorn) against Elasticsearch directly, side by side.

    .venv/bin/python -m bench.search [--listings 120000] [--pages 80000] [--rounds 30] [--max-seconds 240]

Loads the synthetic corpus of :mod:`bench.corpus` into the ``bench-search``
prefix of the configured Elasticsearch (once: a marker makes later runs reuse
it), starts ``onionscope serve`` on a free loopback port, and times a fixed
mix in one run, interleaving the two paths so both see the same cache state:

* full text with facets and highlights (``/search?kind=listings&limit=20``,
  and the same body sent to ``_search`` by the Python client);
* the wallet pivot (``/wallets/{address}``, and the same four searches that
  :func:`search.pivots.wallet_detail` sends, called directly).

The API path also checks a bearer token and writes an audit document per
search, as it does in production.  Prints p50/p95 per path and their ratio.
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


def start_server(settings, var_dir: str) -> tuple[subprocess.Popen, str]:
    environment = dict(os.environ)
    environment.update({"ONIONSCOPE_ES_URL": settings.es_url, "ONIONSCOPE_INDEX_PREFIX": PREFIX,
                        "ONIONSCOPE_VAR_DIR": var_dir})
    process = subprocess.Popen(
        [sys.executable, "-m", "onionscope.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"server did not start: {line!r} {process.stderr.read()}")
    return process, match.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--listings", type=int, default=120_000)
    parser.add_argument("--pages", type=int, default=80_000)
    parser.add_argument("--rounds", type=int, default=30, help="passes over the query mix")
    parser.add_argument("--max-seconds", type=float, default=240, help="stop measuring after this long")
    args = parser.parse_args(argv)

    import httpx

    from bench.corpus import load, sample_wallets
    from onionscope.settings import load_settings
    from pipelines.es_client import ensure_reachable
    from search.auth import create_token
    from search.connection import connect
    from search.pivots import wallet_detail
    from search.query import parse
    from search.results import build_search_body

    settings = load_settings()
    client = connect(settings).options(request_timeout=60)
    ensure_reachable(client, settings)
    print(f"corpus: seed {args.seed}, {args.listings} listings + {args.pages} pages into prefix {PREFIX!r} at {settings.es_url}")
    load(client, PREFIX, args.seed, args.listings, args.pages)
    counts = {kind: client.count(index=f"{PREFIX}-{kind}")["count"] for kind in ("listings", "pages", "vendors", "wallets")}
    print(f"documents: {counts}")
    wallets = sample_wallets(args.seed, args.listings, 12)
    token, record = create_token(client, PREFIX, "viewer", "bench")

    bodies = {query: build_search_body(parse(query), "listings", limit=20) for query in FULL_TEXT_QUERIES}

    def direct_full_text(query: str) -> int:
        return len(client.search(index=f"{PREFIX}-listings", body=bodies[query])["hits"]["hits"])

    def direct_wallet(address: str) -> int:
        detail = wallet_detail(client, PREFIX, address)
        return len(detail["listings"]) if detail else 0

    with tempfile.TemporaryDirectory(prefix="bench-search-") as var_dir:
        process, base_url = start_server(settings, var_dir)
        try:
            http = httpx.Client(base_url=base_url, timeout=30,
                                headers={"authorization": f"Bearer {token}", "accept": "application/json"})
            deadline = time.monotonic() + 30
            while True:
                try:
                    if http.get("/stats").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server never answered")
                time.sleep(0.1)

            def api_full_text(query: str) -> int:
                response = http.get("/search", params={"q": query, "kind": "listings", "limit": 20})
                response.raise_for_status()
                return len(response.json()["hits"])

            def api_wallet(address: str) -> int:
                response = http.get(f"/wallets/{quote(address, safe='')}")
                response.raise_for_status()
                return len(response.json()["listings"])

            mix = [("full text + facets + highlights", query, direct_full_text, api_full_text)
                   for query in FULL_TEXT_QUERIES]
            mix += [("wallet pivot", address, direct_wallet, api_wallet) for address in wallets]
            # Warm both paths (and check they agree) before timing.
            for _, key, direct, api in mix:
                if direct(key) != api(key):
                    raise SystemExit(f"API and direct disagree on {key!r}")
            timings: dict[tuple[str, str], list[float]] = {}
            started = time.monotonic()
            rounds = 0
            for round_number in range(args.rounds):
                if time.monotonic() - started > args.max_seconds:
                    break
                for label, key, direct, api in mix:
                    order = ((("direct", direct), ("api", api)) if round_number % 2 == 0
                             else (("api", api), ("direct", direct)))
                    for path, call in order:
                        begin = time.perf_counter()
                        call(key)
                        timings.setdefault((label, path), []).append((time.perf_counter() - begin) * 1000)
                rounds += 1
            http.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    print(f"\n{rounds} rounds over {len(mix)} requests per path in {time.monotonic() - started:.0f} s "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'mix':<34}{'path':<8}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}")
    all_api: list[float] = []
    all_direct: list[float] = []
    for label in dict.fromkeys(label for label, _ in timings):
        for path in ("direct", "api"):
            values = timings[(label, path)]
            (all_api if path == "api" else all_direct).extend(values)
            print(f"{label:<34}{path:<8}{len(values):>6}{statistics.median(values):>10.1f}{percentile(values, 0.95):>10.1f}")
        api_values, direct_values = timings[(label, "api")], timings[(label, "direct")]
        print(f"{'':<34}{'ratio':<8}{'':>6}{statistics.median(api_values) / statistics.median(direct_values):>10.2f}"
              f"{percentile(api_values, 0.95) / percentile(direct_values, 0.95):>10.2f}")
    api_p95, direct_p95 = percentile(all_api, 0.95), percentile(all_direct, 0.95)
    ratio = statistics.median(all_api) / statistics.median(all_direct)
    print(f"\nwhole mix: API p50 {statistics.median(all_api):.1f} ms, p95 {api_p95:.1f} ms; "
          f"direct p50 {statistics.median(all_direct):.1f} ms, p95 {direct_p95:.1f} ms")
    print(f"API p95 {api_p95:.1f} ms (target <= 100): {'met' if api_p95 <= 100 else 'NOT met'}")
    print(f"API/direct p50 ratio {ratio:.2f}, p95 ratio {api_p95 / direct_p95:.2f} (target <= 1.3): "
          f"{'met' if ratio <= 1.3 and api_p95 / direct_p95 <= 1.3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
