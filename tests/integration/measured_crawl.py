"""One real crawl (onion spider, tor transport, pipelines, Elasticsearch), with its peak memory.

Used by the hostile-site and fault tests as a subprocess (Twisted's reactor starts once per
process).  Reads ``{"seeds": [...], "job": str, "settings": {onionscope key: value}}`` on
stdin; tor, Elasticsearch, the index prefix and the var folder come from ``ONIONSCOPE_*``
variables, as for ``onionscope crawl``.  Runs :func:`onionscope.commands.crawl.run_crawl`
and prints one JSON line: ``{"stats": {...}, "summary": {...}, "seconds": float,
"peak_rss_mib": float (this process), "children_peak_rss_mib": float (the extraction
worker)}``.  The log goes to stderr.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from config.settings import load_settings
from onionscope.commands.crawl import run_crawl, summarize


def main() -> int:
    spec = json.load(sys.stdin)
    settings = load_settings().replace(**spec.get("settings", {}))
    started = time.monotonic()
    stats = run_crawl(settings, spec["seeds"], spec["job"], follow_offsite=bool(spec.get("follow_offsite")))
    seconds = time.monotonic() - started
    # ru_maxrss is in KiB on Linux.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
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
