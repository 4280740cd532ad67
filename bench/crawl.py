"""Benchmark: crawl throughput through the private Tor network, against its limit and against ahmia's design.

Run as ``.venv/bin/python -m bench.crawl [--concurrency 32] [--rounds 2]``.

It brings up the demo world (demo sites behind onion services of a fresh
private Tor network, in a temporary folder, beside any default network) and
takes every page of the ground truth as one fixed URL list.  Then, in one run,
over the same URLs, through the same tor client, at the same concurrency:

* **limit** -- ``curl --parallel --socks5-hostname`` (one process, no parsing);
* **onionscope fetch** -- Scrapy with the Tor SOCKS5 handler, responses only
  counted (the transport on its own);
* **privoxy fetch** -- ahmia's design: Scrapy's stock HTTP handler through
  Privoxy (Debian's package) with ``forward-socks5t`` to that tor;
* **onionscope crawl** / **privoxy crawl** -- the same two transports under the
  real crawl: the onion spider, every extractor and bulk indexing into
  Elasticsearch (``bench.crawl_worker``);
* **crawl, in-process** -- the onionscope crawl with ``extraction_budget_seconds``
  0: extraction on the reactor thread instead of the budget worker process
  (:mod:`crawler.extractors.budget`), to show what the worker costs or saves.

Each is run ``--rounds`` times, interleaved, and the best round counts (the
first round also builds each method's circuits).  It prints pages/s for each,
the ratios onionscope/limit (target >= 0.7) and onionscope/privoxy (target
> 1) for the transport and for the full crawl, and the crawler's peak RSS.  Elasticsearch must be reachable (the
local node is started when it is not running).  Nothing here is an assert:
the figures are printed for a person to read.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_curl(urls: list[str], socks: str, concurrency: int, work: Path) -> dict[str, Any]:
    config = work / "curl.cfg"
    config.write_text("".join(f'url = "{url}"\noutput = "/dev/null"\n' for url in urls))
    started = time.monotonic()
    result = subprocess.run(
        ["curl", "--silent", "--parallel", "--parallel-max", str(concurrency), "--socks5-hostname", socks,
         "--max-time", "120", "--write-out", "%{http_code}\n", "--config", str(config)],
        capture_output=True, text=True, check=False,
    )
    seconds = time.monotonic() - started
    codes = result.stdout.split()
    return {"pages": sum(code == "200" for code in codes), "seconds": seconds, "peak_rss_mb": None}


def _run_worker(transport: str, kind: str, url_file: Path, concurrency: int, work: Path,
                environment: dict[str, str], proxy: str | None = None) -> dict[str, Any]:
    out = work / f"{transport}-{kind}.json"
    command = [sys.executable, "-m", "bench.crawl_worker", "--transport", transport, "--work", kind,
               "--urls", str(url_file), "--concurrency", str(concurrency), "--out", str(out)]
    if proxy:
        command += ["--proxy", proxy]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{transport} crawl failed (exit {process.returncode})")
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # ru_maxrss is in KiB on Linux
    return result


def _start_privoxy(socks: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("privoxy") or "/usr/sbin/privoxy"
    if not Path(binary).exists():
        raise SystemExit("privoxy is not installed; run `make install` (bin/install-system-packages)")
    port = _free_port()
    (work / "privoxy-log").mkdir(exist_ok=True)
    config = work / "privoxy.conf"
    # Our own configuration only: loopback listener, everything forwarded to the private tor.
    config.write_text(
        f"confdir {work}\nlogdir {work / 'privoxy-log'}\nlogfile privoxy.log\n"
        f"listen-address 127.0.0.1:{port}\nforward-socks5t / {socks} .\n"
        "toggle 0\nenable-remote-toggle 0\nenable-edit-actions 0\nkeep-alive-timeout 30\n"
        "max-client-connections 512\n"
    )
    process = subprocess.Popen([binary, "--no-daemon", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"privoxy exited with {process.returncode}; see {work / 'privoxy-log'}")
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("privoxy did not listen within 15 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    from harness.demo.server import DemoServer
    from harness.demo_world import publish_demo_sites
    from harness import elasticsearch_node
    from config.settings import load_settings
    from harness.testnet.network import TestNetwork, free_base_port
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix, ensure_indices

    settings = load_settings()
    if elasticsearch_node.es_url_is_local_node(settings):
        elasticsearch_node.start(settings)
    work = Path(tempfile.mkdtemp(prefix="onionscope-bench-crawl-"))
    network = TestNetwork(work / "testnet", free_base_port(30000), relays=2, clients=1)
    server = DemoServer(work / "demo", peer_log=None)
    privoxy = None
    prefix = "bench-crawl"
    client = make_client(settings)
    try:
        ports = server.start()
        world = publish_demo_sites(network, work / "demo", ports, seed=1337, progress=lambda m: print(f"  {m}"))
        socks = world.socks_endpoints[0]
        urls = [url for site in world.ground_truth["sites"].values() for url in site["pages"]]
        url_file = work / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
        environment.update(
            ONIONSCOPE_TOR_SOCKS=socks, ONIONSCOPE_ES_URL=settings.es_url, ONIONSCOPE_INDEX_PREFIX=prefix,
            ONIONSCOPE_VAR_DIR=str(work / "var"), ONIONSCOPE_TESTNET_DIR=str(work / "testnet"),
        )
        privoxy, proxy_url = _start_privoxy(socks, work)

        print(f"\n{len(urls)} URLs on {len(world.onion_hosts)} onion services, concurrency {args.concurrency}, "
              f"{args.rounds} rounds (best counts)")
        methods = {
            "limit (curl)": lambda: _run_curl(urls, socks, args.concurrency, work),
            "onionscope fetch": lambda: _run_worker("onionscope", "fetch", url_file, args.concurrency, work, environment),
            "privoxy fetch": lambda: _run_worker("privoxy", "fetch", url_file, args.concurrency, work, environment,
                                                 proxy=proxy_url),
            "onionscope crawl": lambda: _run_worker("onionscope", "crawl", url_file, args.concurrency, work, environment),
            # The same crawl with extraction on the reactor thread, as before the budget worker.
            "crawl, in-process": lambda: _run_worker("onionscope", "crawl", url_file, args.concurrency, work,
                                                     {**environment, "ONIONSCOPE_EXTRACTION_BUDGET_SECONDS": "0"}),
            "privoxy crawl": lambda: _run_worker("privoxy", "crawl", url_file, args.concurrency, work, environment,
                                                 proxy=proxy_url),
        }
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in methods}
        for round_number in range(1, args.rounds + 1):
            for name, measure in methods.items():
                # Every crawl starts from empty indices that already exist, as in production
                # (they are created once, at the first start).
                delete_prefix(client, prefix)
                ensure_indices(client, prefix)
                run = measure()
                results[name].append(run)
                print(f"  round {round_number}: {name:17} {run['pages']:4d}/{len(urls)} pages in "
                      f"{run['seconds']:6.2f} s = {run['pages'] / run['seconds']:6.1f} pages/s", flush=True)

        best = {name: max(runs, key=lambda run: run["pages"] / run["seconds"]) for name, runs in results.items()}
        rate = {name: run["pages"] / run["seconds"] for name, run in best.items()}
        print("\nbest rounds:")
        for name, run in best.items():
            rss = f", peak RSS {run['peak_rss_mb']} MB" if run.get("peak_rss_mb") else ""
            print(f"  {name:17} {rate[name]:6.1f} pages/s ({run['pages']}/{len(urls)} pages){rss}")
        print("\ntransport (fetch only, same Scrapy engine):")
        print(f"  onionscope / limit   = {rate['onionscope fetch'] / rate['limit (curl)']:.2f}  (target >= 0.70)")
        print(f"  onionscope / privoxy = {rate['onionscope fetch'] / rate['privoxy fetch']:.2f}  (target > 1.00)")
        print("full crawl (extraction and indexing included):")
        print(f"  onionscope / limit   = {rate['onionscope crawl'] / rate['limit (curl)']:.2f}")
        print(f"  onionscope / privoxy = {rate['onionscope crawl'] / rate['privoxy crawl']:.2f}  (target > 1.00)")
        print(f"  extraction in the budget worker / in the crawl process = "
              f"{rate['onionscope crawl'] / rate['crawl, in-process']:.2f}")
        print(f"onionscope crawler peak RSS = {best['onionscope crawl']['peak_rss_mb']} MB")
        return 0
    finally:
        if privoxy is not None:
            privoxy.terminate()
            privoxy.wait(timeout=10)
        delete_prefix(client, prefix)
        client.close()
        server.stop()
        network.down()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
