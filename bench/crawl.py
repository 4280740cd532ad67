"""Benchmark: crawl throughput through the private Tor network, against its limit and against ahmia's design.

Run as ``.venv/bin/python -m bench.crawl [--concurrency 32] [--rounds 2] [--pages 2000]
[--memory-pages 20000]``.

It brings up the demo world (demo sites behind onion services of a fresh
private Tor network, in a temporary folder, beside any default network) and
takes every page of the ground truth as one fixed URL list; with ``--pages N``
the list is made N long with generated pages (copies of the demo's pages
under ``/g<k>/``, each with a line of its own, so every copy is a page of its
own with its own content hash: :func:`generated_urls`).  Then, in one run,
over the same URLs, through the same tor client, at the same concurrency:

* **limit** -- ``curl --parallel --socks5-hostname`` (one process, no parsing);
* **onionscope fetch** -- Scrapy with the Tor SOCKS5 handler, responses only
  counted (the transport on its own);
* **privoxy fetch** -- ahmia's design: Scrapy's stock HTTP handler through
  Privoxy (Debian's package) with ``forward-socks5t`` to that tor;
* **onionscope crawl** / **privoxy crawl** -- the same two transports under the
  real crawl: the onion spider, every extractor and bulk indexing into
  Elasticsearch (``bench.crawl_worker``), with the settings' extraction pool
  (``extraction_workers``; 0 is one worker per CPU, at most 4);
* **crawl, 1 extraction worker** -- the onionscope crawl with one extraction
  worker process (the design before the pool);
* **crawl, in-process** -- the onionscope crawl with ``extraction_budget_seconds``
  0: extraction on the reactor thread instead of the worker processes
  (:mod:`crawler.extractors.budget`), to show what the workers cost or save;
* **shared crawl, N workers** (N = 1, 2, 4) -- the full crawl as one shared job
  on the Redis frontier (:mod:`crawler.frontier`): N ``bench.crawl_worker
  --shared JOB`` processes, each joining the job as ``onionscope crawl --job JOB
  --shared`` does, each with its own var folder and ``--concurrency`` requests
  in flight, all given the same URL list (the shared seen-set makes each URL
  one request of the job).  Its pages/s are the job's: pages summed over the
  workers, from the first worker's start to the last one's end; each worker's
  pages and peak RSS are printed.  Redis is the configured one (``redis_url``)
  or, by default, one started here (``harness.redis_server``) in the temporary
  folder on a free loopback port, as the tests start theirs.

Each is run ``--rounds`` times, interleaved, and the best round counts (the
first round also builds each method's circuits).  It prints pages/s for each,
the ratios onionscope/limit and onionscope/privoxy for the transport and for
the full crawl (targets: the full crawl >= 0.7 of the limit and >= 1.5x the
privoxy crawl), and the peak RSS of the crawl process and of each extraction
worker (sampled every quarter second, :class:`MemorySampler`).  For each
method it also prints the CPU milliseconds per page of every part of the
world (:class:`CpuMeter`): the measured processes (the crawl process's reactor
thread, its other threads, its extraction workers), tor, the demo server,
Privoxy/Redis and Elasticsearch, with the page rate the machine's CPUs would
allow at that cost: on a small machine where tor, Elasticsearch and the
crawl share the CPUs, that is what bounds the full crawl against the fetch.

``--memory-pages N`` adds one long onionscope crawl over N URLs (demo and
generated pages) after the rounds, and prints the peak RSS of the crawl
process and of the extraction workers up to 25, 50, 75 and 100 % of its pages
(read from the crawl's progress file): a crawl whose memory is bounded shows
the same peak at 50 % as at 100 %.

Adding a method is one more entry in the table :func:`methods` builds; every
method returns ``{"pages", "seconds", ...}`` and is measured the same way.
Elasticsearch must be reachable (the local node is started when it does not
answer).
Nothing here is an assert: the figures are printed for a person to read.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

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


def _rss_mb(pid: int) -> float | None:
    """The resident set of process ``pid`` in MB, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                found += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return found


def _is_extraction_worker(pid: int) -> bool:
    """A spawned multiprocessing child that is not multiprocessing's resource tracker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
    except OSError:
        return False
    return b"multiprocessing" in command and b"resource_tracker" not in command


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu_seconds(pid: int, task: int | None = None) -> float | None:
    """User + system CPU seconds of process ``pid`` (not its children), or of its thread ``task``;
    None when it is gone."""
    try:
        path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
        with open(path, encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


def _machine_busy_seconds() -> float:
    """CPU seconds all CPUs of the machine spent busy since boot (every process, other users' too)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _CLOCK_TICKS


class CpuMeter:
    """CPU seconds spent by each part of the benchmark's world while one method runs.

    Parts: ``client`` (the measured processes: curl or the crawl workers with
    their extraction workers, from ``RUSAGE_CHILDREN`` once they are reaped),
    ``tor`` (every tor process of the private network), ``services`` (Privoxy
    and Redis started here), ``demo server`` (this process: the demo sites are
    threads of it), ``elasticsearch`` (every Elasticsearch process on the
    machine: the node may serve other work too) and ``machine`` (all CPUs,
    other users' work included).  Processes are found under the benchmark's
    temporary folder ``work`` by their command line.
    """

    def __init__(self, work: Path):
        self.work = str(work)

    def _parts(self) -> dict[str, float]:
        import resource

        parts = {"tor": 0.0, "services": 0.0, "elasticsearch": 0.0}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    arguments = cmdline.read().split(b"\0")
            except OSError:
                continue
            command = b" ".join(arguments).decode("utf-8", "replace")
            program = os.path.basename(arguments[0].decode("utf-8", "replace")) if arguments else ""
            if "org.elasticsearch.bootstrap" in command:
                part = "elasticsearch"
            elif self.work in command and program == "tor":
                part = "tor"
            elif self.work in command and program in ("privoxy", "redis-server"):
                part = "services"
            else:
                continue
            parts[part] += _process_cpu_seconds(int(entry)) or 0.0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        parts["client"] = children.ru_utime + children.ru_stime
        parts["demo server"] = own.ru_utime + own.ru_stime
        parts["machine"] = _machine_busy_seconds()
        return parts

    def idle(self, seconds: float = 5.0) -> dict[str, float]:
        """CPU seconds per second each part spends while nothing is measured (a private tor
        network's relays and authorities keep working when idle)."""
        before = self._parts()
        time.sleep(seconds)
        after = self._parts()
        return {part: max(0.0, after[part] - before[part]) / seconds for part in before}

    def measure(self, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``run()``'s result with ``"cpu"``: CPU seconds per part while it ran (processes that ended
        meanwhile drop out of ``tor``/``services``/``elasticsearch``: the private network's do not)."""
        before = self._parts()
        result = run()
        after = self._parts()
        result["cpu"] = {part: max(0.0, after[part] - before[part]) for part in before}
        return result


def format_cpu(run: dict[str, Any], idle: dict[str, float] | None = None) -> str:
    """One line: CPU milliseconds per page of each part, and the page rate the machine's CPUs allow.

    ``idle``: CPU seconds per second of each part when nothing runs (:meth:`CpuMeter.idle`);
    the tor figure is then also given without the idle network's share.
    """
    cpu = run.get("cpu")
    pages = max(int(run.get("pages", 0)), 1)
    if not cpu:
        return ""
    ours = sum(seconds for part, seconds in cpu.items() if part != "machine")
    idle_tor = (idle or {}).get("tor", 0.0) * float(run.get("seconds", 0.0))
    parts = ", ".join(f"{part} {1000 * seconds / pages:.1f}" for part, seconds in cpu.items() if part != "machine")
    extraction = run.get("extraction_cpu_seconds")
    if extraction or run.get("reactor_cpu_seconds"):
        parts += (f" (of the client: extraction workers {1000 * (extraction or 0) / pages:.1f}, the crawl "
                  f"process's reactor thread {1000 * run.get('reactor_cpu_seconds', 0) / pages:.1f} and its other "
                  f"threads {1000 * run.get('other_threads_cpu_seconds', 0) / pages:.1f})")
    if idle_tor:
        parts += (f"; tor without its idle share ({idle['tor']:.2f} CPU when idle) "
                  f"{1000 * max(0.0, cpu['tor'] - idle_tor) / pages:.1f}")
    bound = (os.cpu_count() or 1) * pages / ours if ours else float("inf")
    return (f"CPU ms/page: {parts}; ours {1000 * ours / pages:.1f}, the whole machine "
            f"{1000 * cpu['machine'] / pages:.1f} (other work included); "
            f"{os.cpu_count()} CPUs at this cost allow {bound:.0f} pages/s")


class MemorySampler(threading.Thread):
    """Samples, every ``interval`` seconds, the RSS of a crawl process and of its extraction workers.

    Each sample is ``(pages done, crawl RSS MB, {worker pid: RSS MB})``; the
    pages come from the crawl's progress file (``bench.crawl_worker --progress``).
    """

    def __init__(self, pid: int, progress_file: Path | None, interval: float = 0.25):
        super().__init__(name="bench-memory-sampler", daemon=True)
        self.pid = pid
        self.progress_file = progress_file
        self.interval = interval
        self.samples: list[tuple[int, float, dict[int, float]]] = []
        # The last CPU seconds seen of each extraction worker (their sum: the extraction's CPU),
        # and of each thread of the crawl process (the one whose id is the pid: the reactor's).
        self.worker_cpu: dict[int, float] = {}
        self.thread_cpu: dict[int, float] = {}
        self.stopped = threading.Event()

    def _pages(self) -> int:
        if self.progress_file is None:
            return 0
        try:
            return int(self.progress_file.read_text() or 0)
        except (OSError, ValueError):
            return self.samples[-1][0] if self.samples else 0

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            crawl = _rss_mb(self.pid)
            if crawl is None:
                return
            workers = {child: rss for child in _children(self.pid)
                       if _is_extraction_worker(child) and (rss := _rss_mb(child)) is not None}
            for child in workers:
                cpu = _process_cpu_seconds(child)
                if cpu is not None:
                    self.worker_cpu[child] = cpu
            try:
                tasks = [int(task) for task in os.listdir(f"/proc/{self.pid}/task")]
            except OSError:
                tasks = []
            for task in tasks:
                cpu = _process_cpu_seconds(self.pid, task)
                if cpu is not None:
                    self.thread_cpu[task] = cpu
            self.samples.append((self._pages(), crawl, workers))

    def peaks(self, up_to_pages: float | None = None) -> dict[str, float]:
        """Peak crawl RSS, peak RSS of any one worker, and peak of the workers' sum (MB), up to a page count."""
        chosen = [sample for sample in self.samples if up_to_pages is None or sample[0] <= up_to_pages]
        if not chosen:
            return {"crawl": 0.0, "worker": 0.0, "workers": 0.0, "count": 0}
        return {
            "crawl": max(sample[1] for sample in chosen),
            "worker": max((max(sample[2].values(), default=0.0) for sample in chosen), default=0.0),
            "workers": max(sum(sample[2].values()) for sample in chosen),
            "count": max(len(sample[2]) for sample in chosen),
        }


def _worker_command(transport: str, kind: str, url_file: Path, concurrency: int, out: Path, progress: Path,
                    proxy: str | None = None, profile: Path | None = None, shared: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "bench.crawl_worker", "--transport", transport, "--work", kind,
               "--urls", str(url_file), "--concurrency", str(concurrency), "--out", str(out),
               "--progress", str(progress)]
    if proxy:
        command += ["--proxy", proxy]
    if profile is not None:
        command += ["--profile", str(profile)]
    if shared:
        command += ["--shared", shared]
    return command


class _Launched:
    """One running ``bench.crawl_worker`` process with its :class:`MemorySampler`."""

    def __init__(self, name: str, command: list[str], environment: dict[str, str], out: Path, progress: Path):
        self.name = name
        self.out = out
        progress.unlink(missing_ok=True)
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment)
        self.memory = MemorySampler(self.process.pid, progress)
        self.memory.start()

    def result(self) -> dict[str, Any]:
        """Wait for the process; its JSON result with its peak RSS and its extraction workers' peak."""
        _, status, usage = os.wait4(self.process.pid, 0)
        self.memory.stopped.set()
        self.memory.join()
        self.process.returncode = os.waitstatus_to_exitcode(status)
        if self.process.returncode != 0:
            raise SystemExit(f"{self.name} crawl failed (exit {self.process.returncode})")
        result = json.loads(self.out.read_text())
        result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # ru_maxrss is in KiB on Linux
        # CPU seconds of the crawl process and of the extraction workers it waited for.
        result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 1)
        peaks = self.memory.peaks()
        result["worker_peak_rss_mb"] = round(peaks["worker"], 1)
        result["workers_seen"] = peaks["count"]
        result["extraction_cpu_seconds"] = round(sum(self.memory.worker_cpu.values()), 1)
        threads = self.memory.thread_cpu
        result["reactor_cpu_seconds"] = round(threads.get(self.process.pid, 0.0), 1)
        result["other_threads_cpu_seconds"] = round(sum(cpu for task, cpu in threads.items()
                                                        if task != self.process.pid), 1)
        return result


def _run_worker(transport: str, kind: str, url_file: Path, concurrency: int, work: Path,
                environment: dict[str, str], proxy: str | None = None,
                sampler: list[MemorySampler] | None = None, profile: Path | None = None) -> dict[str, Any]:
    """One ``bench.crawl_worker`` process; its result, with the peaks its :class:`MemorySampler` saw.

    ``sampler``: a list the sampler is appended to, for a caller that wants every sample;
    ``profile``: where the worker writes the cProfile stats of its reactor thread.
    """
    out = work / f"{transport}-{kind}.json"
    progress = work / f"{transport}-{kind}.progress"
    command = _worker_command(transport, kind, url_file, concurrency, out, progress, proxy=proxy, profile=profile)
    launched = _Launched(transport, command, environment, out, progress)
    result = launched.result()
    if sampler is not None:
        sampler.append(launched.memory)
    return result


def run_shared_job(workers: int, url_file: Path, concurrency: int, work: Path, environment: dict[str, str],
                   redis_url: str, profile: Path | None = None) -> dict[str, Any]:
    """The full crawl as one shared job of ``workers`` worker processes on the Redis frontier.

    Each worker is its own ``bench.crawl_worker --shared JOB`` process (its own
    var folder, as on its own machine) with ``concurrency`` requests in
    flight and ``extraction_workers`` set to its share of the machine's default pool
    (one per CPU, at least one per worker); all start together with the same URL list.  Returns the job's
    ``{"pages", "seconds", "indexed", "workers": [per worker result], ...}``:
    pages summed over the workers, seconds from the first worker's start to the
    last one's end.  ``profile``: where worker 0 writes the cProfile stats of its
    reactor thread.  Raises SystemExit when a worker fails.
    """
    from crawler.extractors.budget import extraction_worker_count

    job = f"bench-shared-{workers}-{secrets.token_hex(4)}"
    # The machine's extraction processes shared among the workers, as an operator starting
    # N workers on one machine would set extraction_workers (at least one each).
    extraction_workers = max(1, extraction_worker_count(0) // workers)
    launched = []
    for number in range(workers):
        folder = work / job / f"worker-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        command = _worker_command("onionscope", "crawl", url_file, concurrency, folder / "result.json",
                                  folder / "progress", shared=job, profile=profile if number == 0 else None)
        worker_environment = {**environment, "ONIONSCOPE_REDIS_URL": redis_url,
                              "ONIONSCOPE_VAR_DIR": str(folder / "var"),
                              "ONIONSCOPE_EXTRACTION_WORKERS": str(extraction_workers)}
        launched.append(_Launched(f"shared worker {number}", command, worker_environment,
                                  folder / "result.json", folder / "progress"))
    results = [worker.result() for worker in launched]
    started = min(result["started"] for result in results if result.get("started"))
    finished = max(result["finished"] for result in results if result.get("finished"))
    return {
        "pages": sum(result["pages"] for result in results),
        "requests": sum(result["requests"] for result in results),
        "indexed": sum(result["indexed"] for result in results),
        "seconds": finished - started,
        "workers": results,
        "peak_rss_mb": max(result["peak_rss_mb"] for result in results),
        "worker_peak_rss_mb": max(result["worker_peak_rss_mb"] for result in results),
        "workers_seen": max(result["workers_seen"] for result in results),
        "cpu_seconds": round(sum(result["cpu_seconds"] for result in results), 1),
        "extraction_cpu_seconds": round(sum(result["extraction_cpu_seconds"] for result in results), 1),
        "reactor_cpu_seconds": round(sum(result["reactor_cpu_seconds"] for result in results), 1),
        "other_threads_cpu_seconds": round(sum(result["other_threads_cpu_seconds"] for result in results), 1),
    }


def generated_urls(world: Any, count: int) -> list[str]:
    """The demo's page URLs, then generated copies of them, ``count`` in all (at least every demo page).

    Copy ``k`` of a page is served at ``/g<k>`` + its path, with a paragraph
    naming the copy before ``</body>``, so it is a page of its own (its own
    content hash; deduplication does not drop it).  Its links still point at
    the demo's own paths: a crawl that follows links would go back to them.
    """
    from harness.demo.generator import site_directory
    from harness.demo.paths import file_for_target
    from urllib.parse import urlsplit

    pages = [(name, url) for name, site in sorted(world.ground_truth["sites"].items()) for url in site["pages"]]
    urls = [url for _, url in pages]
    copy = 0
    while len(urls) < count:
        copy += 1
        for name, url in pages:
            if len(urls) >= count:
                break
            parts = urlsplit(url)
            source = file_for_target(parts.path, parts.query)
            target = file_for_target(f"/g{copy}{parts.path}", parts.query)
            if source is None or target is None:
                continue
            root = site_directory(world.demo_dir, name)
            body = (root / source).read_bytes()
            marker = f"<p>generated copy {copy} of this page</p>".encode()
            body = body.replace(b"</body>", marker + b"</body>", 1) if b"</body>" in body else body + marker
            (root / target).parent.mkdir(parents=True, exist_ok=True)
            (root / target).write_bytes(body)
            urls.append(f"{parts.scheme}://{parts.netloc}/g{copy}{parts.path}" + (f"?{parts.query}" if parts.query else ""))
    return urls


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


# Worker counts of the shared-frontier methods ("shared crawl, N workers").
SHARED_WORKERS = (1, 2, 4)


def shared_method_name(workers: int) -> str:
    """The printed name of the full crawl as one shared job of ``workers`` workers."""
    return f"shared crawl, {workers} worker" + ("s" if workers > 1 else "")


def methods(urls: list[str], url_file: Path, socks: str, proxy_url: str, concurrency: int, work: Path,
            environment: dict[str, str], redis_url: Callable[[], str] | None = None,
            ) -> dict[str, Callable[[], dict[str, Any]]]:
    """The measured methods, by the name printed: each runs once and returns ``{"pages", "seconds", ...}``.

    ``redis_url``: called for the shared frontier's Redis when a shared method
    runs first (so a Redis is started only when one is measured); None leaves
    the shared methods out.  The full pipeline with N crawl workers on the
    shared frontier is one entry per N of :data:`SHARED_WORKERS`.
    """
    def crawl(transport: str, kind: str, proxy: str | None = None, **overrides: str) -> Callable[[], dict[str, Any]]:
        return lambda: _run_worker(transport, kind, url_file, concurrency, work, {**environment, **overrides},
                                   proxy=proxy)

    table = {
        "limit (curl)": lambda: _run_curl(urls, socks, concurrency, work),
        "onionscope fetch": crawl("onionscope", "fetch"),
        "privoxy fetch": crawl("privoxy", "fetch", proxy=proxy_url),
        "onionscope crawl": crawl("onionscope", "crawl"),
        # The design before the pool: one extraction worker process.
        "crawl, 1 extraction worker": crawl("onionscope", "crawl", ONIONSCOPE_EXTRACTION_WORKERS="1"),
        # Extraction on the reactor thread, as before the budget worker.
        "crawl, in-process": crawl("onionscope", "crawl", ONIONSCOPE_EXTRACTION_BUDGET_SECONDS="0"),
        "privoxy crawl": crawl("privoxy", "crawl", proxy=proxy_url),
    }
    if redis_url is not None:
        for workers in SHARED_WORKERS:
            table[shared_method_name(workers)] = (
                lambda workers=workers: run_shared_job(workers, url_file, concurrency, work, environment, redis_url()))
    return table


def _print_memory_run(memory: MemorySampler, run: dict[str, Any], total: int) -> None:
    print(f"\nmemory over one crawl of {total} URLs: {run['pages']} pages in {run['seconds']:.1f} s "
          f"= {run['pages'] / run['seconds']:.1f} pages/s, {run.get('indexed', 0)} documents indexed")
    print("  share of pages   crawl process peak RSS   one extraction worker peak   workers together")
    for share in (0.25, 0.5, 0.75, 1.0):
        peaks = memory.peaks(up_to_pages=share * run["pages"])
        print(f"  {share:>13.0%}   {peaks['crawl']:17.1f} MB   {peaks['worker']:22.1f} MB   "
              f"{peaks['workers']:10.1f} MB ({peaks['count']} workers)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pages", type=int, default=0,
                        help="URLs per method: the demo's pages, then generated copies (default: the demo's only)")
    parser.add_argument("--memory-pages", type=int, default=0,
                        help="after the rounds, one onionscope crawl over this many URLs with its RSS over time")
    parser.add_argument("--only", action="append", default=[],
                        help="measure only this method (repeatable; names as printed)")
    parser.add_argument("--profile", type=Path,
                        help="after the rounds, one onionscope crawl with its reactor thread profiled (cProfile): "
                             "the stats go to this file and the top functions are printed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    # A benchmark stopped with SIGTERM still stops its tor network, Privoxy and demo server (the finally below).
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))

    from harness.demo.server import DemoServer
    from harness.demo_world import publish_demo_sites
    from harness import elasticsearch_node
    from config.settings import load_settings
    from harness.testnet.network import TestNetwork, free_base_port
    from pipelines.es_client import make_client
    from pipelines.indices import delete_prefix, ensure_indices

    settings = load_settings()
    # The local node is started when it does not answer yet; one that runs (started by
    # `onionscope services up` or by hand, as the tests' fixture allows) is used as it is.
    if elasticsearch_node.es_url_is_local_node(settings) and elasticsearch_node.status(settings).health is None:
        elasticsearch_node.start(settings)
    work = Path(tempfile.mkdtemp(prefix="onionscope-bench-crawl-"))
    network = TestNetwork(work / "testnet", free_base_port(30000), relays=2, clients=1)
    server = DemoServer(work / "demo", peer_log=None)
    privoxy = None
    redis_layout = None
    # Its own prefix: other runs may share the Elasticsearch node.
    prefix = f"bench-crawl-{os.getpid()}"
    client = make_client(settings)
    try:
        ports = server.start()
        world = publish_demo_sites(network, work / "demo", ports, seed=1337, progress=lambda m: print(f"  {m}"))
        socks = world.socks_endpoints[0]
        every_url = generated_urls(world, max(args.pages, args.memory_pages))
        urls = every_url[:args.pages] if args.pages else generated_urls(world, 0)
        url_file = work / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ONIONSCOPE_")}
        environment.update(
            ONIONSCOPE_TOR_SOCKS=socks, ONIONSCOPE_ES_URL=settings.es_url, ONIONSCOPE_INDEX_PREFIX=prefix,
            ONIONSCOPE_VAR_DIR=str(work / "var"), ONIONSCOPE_TESTNET_DIR=str(work / "testnet"),
        )
        privoxy, proxy_url = _start_privoxy(socks, work)

        shared_redis: list[str] = []

        def redis_url() -> str:
            # The configured Redis (redis_url) when there is one; else one of our own in the
            # temporary folder on a free loopback port, as the tests start theirs.
            nonlocal redis_layout
            if not shared_redis:
                if settings.redis_url:
                    shared_redis.append(settings.redis_url)
                else:
                    from harness import redis_server

                    redis_layout = redis_server.RedisLayout(work / "redis", _free_port())
                    shared_redis.append(redis_server.start(redis_layout).url)
            return shared_redis[0]

        measured = methods(urls, url_file, socks, proxy_url, args.concurrency, work, environment,
                           redis_url=redis_url)
        if args.only:
            unknown = sorted(set(args.only) - set(measured))
            if unknown:
                raise SystemExit(f"unknown method(s) {unknown}; the methods are {sorted(measured)}")
            measured = {name: run for name, run in measured.items() if name in args.only}
        print(f"\n{len(urls)} URLs on {len(world.onion_hosts)} onion services, concurrency {args.concurrency}, "
              f"{args.rounds} rounds (best counts); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in measured}
        meter = CpuMeter(work)
        idle = meter.idle()
        print("  CPU when idle (CPU seconds per second): "
              + ", ".join(f"{part} {value:.2f}" for part, value in idle.items()))
        width = max(len(name) for name in measured)
        for round_number in range(1, args.rounds + 1):
            for name, measure in measured.items():
                # Every crawl starts from empty indices that already exist, as in production
                # (they are created once, at the first start).
                delete_prefix(client, prefix)
                ensure_indices(client, prefix)
                run = meter.measure(measure)
                results[name].append(run)
                print(f"  round {round_number}: {name:{width}} {run['pages']:5d}/{len(urls)} pages in "
                      f"{run['seconds']:7.2f} s = {run['pages'] / run['seconds']:6.1f} pages/s "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)

        best = {name: max(runs, key=lambda run: run["pages"] / run["seconds"])
                for name, runs in results.items() if runs}
        rate = {name: run["pages"] / run["seconds"] for name, run in best.items()}
        print("\nbest rounds:")
        for name, run in best.items():
            rss = f", crawl peak RSS {run['peak_rss_mb']} MB" if run.get("peak_rss_mb") else ""
            if run.get("workers_seen"):
                rss += f", {run['workers_seen']} extraction workers, each at most {run['worker_peak_rss_mb']} MB"
            print(f"  {name:{width}} {rate[name]:6.1f} pages/s ({run['pages']}/{len(urls)} pages){rss}")
            if run.get("cpu"):
                print(f"  {'':{width}}   {format_cpu(run, idle)}")
            for number, worker in enumerate(run.get("workers") or ()):
                print(f"  {'':{width}}   worker {number}: {worker['pages']} pages, {worker['indexed']} documents, "
                      f"peak RSS {worker['peak_rss_mb']} MB, {worker['workers_seen']} extraction workers "
                      f"each at most {worker['worker_peak_rss_mb']} MB")

        def ratio(numerator: str, denominator: str, target: str = "") -> None:
            if numerator in rate and denominator in rate:
                print(f"  {numerator} / {denominator} = {rate[numerator] / rate[denominator]:.2f}"
                      + (f"  (target {target})" if target else ""))

        print("\ntransport (fetch only, same Scrapy engine):")
        ratio("onionscope fetch", "limit (curl)", ">= 0.70")
        ratio("onionscope fetch", "privoxy fetch", "> 1.00")
        print("full crawl (extraction and indexing included):")
        ratio("onionscope crawl", "limit (curl)", ">= 0.70")
        ratio("onionscope crawl", "privoxy crawl", ">= 1.50")
        ratio("onionscope crawl", "crawl, 1 extraction worker")
        ratio("onionscope crawl", "crawl, in-process")
        shared = [shared_method_name(workers) for workers in SHARED_WORKERS]
        if any(name in rate for name in shared):
            print("full crawl as one shared job on the Redis frontier (whole job's pages/s):")
            for name in shared:
                ratio(name, "limit (curl)", ">= 0.70")
            for name in shared[1:]:
                ratio(name, shared[0])
            ratio(shared[0], "onionscope crawl")

        if args.memory_pages:
            memory_file = work / "memory-urls.txt"
            memory_file.write_text("\n".join(every_url[:args.memory_pages]) + "\n")
            delete_prefix(client, prefix)
            ensure_indices(client, prefix)
            samplers: list[MemorySampler] = []
            run = _run_worker("onionscope", "crawl", memory_file, args.concurrency, work, environment,
                              sampler=samplers)
            _print_memory_run(samplers[0], run, args.memory_pages)
        if args.profile:
            import pstats

            delete_prefix(client, prefix)
            ensure_indices(client, prefix)
            run = _run_worker("onionscope", "crawl", url_file, args.concurrency, work, environment,
                              profile=args.profile.resolve())
            print(f"\nprofiled onionscope crawl (reactor thread, cProfile): {run['pages']} pages in "
                  f"{run['seconds']:.1f} s; stats in {args.profile}")
            pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(30)
            if any(name.startswith("shared crawl") for name in measured):
                delete_prefix(client, prefix)
                ensure_indices(client, prefix)
                shared_profile = args.profile.resolve().with_suffix(".shared" + args.profile.suffix)
                run = run_shared_job(1, url_file, args.concurrency, work, environment, redis_url(),
                                     profile=shared_profile)
                print(f"\nprofiled shared crawl, 1 worker (reactor thread, cProfile): {run['pages']} pages in "
                      f"{run['seconds']:.1f} s; stats in {shared_profile}")
                pstats.Stats(str(shared_profile)).sort_stats("tottime").print_stats(30)
        return 0
    finally:
        if redis_layout is not None:
            from harness import redis_server

            redis_server.stop(redis_layout, grace_seconds=10)
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
