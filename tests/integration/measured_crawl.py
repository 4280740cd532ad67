"""One real crawl (onion spider, tor transport, pipelines, Elasticsearch), with its peak memory.

Used by the hostile-site and fault tests as a subprocess (Twisted's reactor starts once per
process).  Reads ``{"seeds": [...], "job": str, "settings": {onionscope key: value}}`` on
stdin; tor, Elasticsearch, the index prefix and the var folder come from ``ONIONSCOPE_*``
variables, as for ``onionscope crawl``.  Runs :func:`onionscope.commands.crawl.run_crawl` on the job
:func:`crawler.job.create_crawl_job` makes
and prints one JSON line: ``{"stats": {...}, "summary": {...}, "seconds": float,
"peak_rss_mib": float, "children_peak_rss_mib": float}``.  The log goes to stderr.

``peak_rss_mib`` is this process's ``VmHWM`` (its own peak since it started).
``children_peak_rss_mib`` is ``ru_maxrss`` of the waited-for children (the extraction
worker): Linux carries a parent's high-water mark into a forked child, so it is an upper
bound, at least the crawl's size when the worker was forked.  (``ru_maxrss`` of this process
would include the peak of the process that started it, pytest's, for the same reason.)
"""

from __future__ import annotations

import json
import resource
import sys
import time

from config.settings import load_settings
from crawler.job import create_crawl_job
from onionscope.commands.crawl import run_crawl, summarize


def _vm_hwm_kib() -> int:
    """This process's peak resident set (``VmHWM`` in /proc/self/status), in KiB."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> int:
    spec = json.load(sys.stdin)
    settings = load_settings().replace(**spec.get("settings", {}))
    started = time.monotonic()
    job = create_crawl_job(spec["seeds"], spec["job"], follow_offsite=bool(spec.get("follow_offsite")), settings=settings)
    stats = run_crawl(settings, job)
    seconds = time.monotonic() - started
    own = _vm_hwm_kib() / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({
        "stats": {key: value for key, value in stats.items() if isinstance(value, (int, float, str))},
        "summary": summarize(spec["job"], stats),
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(own, 1),
        "children_peak_rss_mib": round(children, 1),
    }, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
