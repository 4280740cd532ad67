"""The step after a crawl that probes or crawls the new onions it discovered (``discover: probe|crawl``).

The crawl's indexing pipeline queued every onion its pages named
(:mod:`pipelines.discovery`).  With ``discover: probe`` or ``crawl`` the
command that ran the crawl then takes the queue's ``new`` documents of that
job (at most ``discover_max_onions``, oldest first), drops any host the
blocklist names (never fetched), and runs one more ``onionscope crawl`` in a
child process (Scrapy's reactor runs once per process) with those front
pages as seeds: ``--depth 0 --no-follow`` for a probe (one fetch of the front
page, no link followed), ``--depth discover_crawl_depth`` for a crawl, and
``--discover off`` so discovery never chains.  That child is an ordinary
crawl: Tor only, the crawl scope (onions only) and the blocklist hold, and its
liveness middleware records each attempt in the liveness history
(``onion-checks``) and the onion document.  Each queue document is then set
from that onion document: ``up``, ``reason`` (the last down reason),
``title`` (of the front page's document, else the onion's last title), ``last_status``, ``probed_at`` and ``status`` (``probed`` or
``crawled``).  A host the child left no onion document for (every failure was
on our side) stays ``new``.

Public API:

* :func:`new_onions` (client, prefix, job_id, limit) -> hosts;
* :func:`follow_up` (settings, job_id, policy, config_path=None) -> a summary
  dict (``policy``, ``hosts``, ``probed``, ``up``, ``down``, ``not_checked``,
  ``blocklisted``, ``exit_status``); raises nothing for a child that failed
  (its exit status is in the summary), UserError when Elasticsearch cannot be read.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

from config.errors import UserError
from config.i18n import _
from config.schema import alias_name, onion_doc_id, page_doc_id
from crawler.urls import canonical_url
from pipelines.discovery import CRAWLED, KIND, NEW, probed_fields

logger = logging.getLogger(__name__)


def new_onions(client: Any, prefix: str, job_id: str, limit: int) -> list[str]:
    """The hosts the job queued that are still ``new``, oldest first, at most ``limit``."""
    index = alias_name(prefix, KIND)
    client.indices.refresh(index=index)
    response = client.search(
        index=index, size=limit, sort=[{"first_seen": "asc"}, {"onion_host": "asc"}], source=["onion_host"],
        query={"bool": {"filter": [{"term": {"status": NEW}}, {"term": {"job_ids": job_id}}]}},
    )
    return [hit["_source"]["onion_host"] for hit in response["hits"]["hits"]]


def _child_command(settings: Any, job_id: str, policy: str, hosts: list[str], config_path: str | None) -> list[str]:
    command = [sys.executable, "-m", "onionscope.cli"]
    if config_path:
        command += ["--config", str(config_path)]
    command += ["crawl", "--job", job_id, "--json", "--quiet", "--discover", "off", "--no-progress"]
    if policy == "probe":
        command += ["--depth", "0", "--no-follow"]
    else:
        command += ["--depth", str(settings.discover_crawl_depth)]
    for host in hosts:
        command += ["--seed", f"http://{host}/"]
    return command


def follow_up(settings: Any, job_id: str, policy: str, config_path: str | None = None) -> dict[str, Any]:
    """Probe or crawl the new onions job ``job_id`` queued (see the module docstring); returns the summary."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from config.blocklist import blocklist_for
    from pipelines.es_client import describe_error, make_client

    summary: dict[str, Any] = {"policy": policy, "hosts": 0, "probed": 0, "up": 0, "down": 0, "not_checked": 0,
                               "blocklisted": 0, "exit_status": None, "job_id": None}
    if policy not in ("probe", "crawl"):
        return summary
    blocklist = blocklist_for(settings)
    client = make_client(settings)
    try:
        hosts = new_onions(client, settings.index_prefix, job_id, settings.discover_max_onions)
        allowed = [host for host in hosts if not (blocklist and blocklist.refusal(f"http://{host}/"))]
        summary["blocklisted"] = len(hosts) - len(allowed)
        summary["hosts"] = len(allowed)
        if not allowed:
            return summary
        child_job = f"{job_id}-{policy}"
        summary["job_id"] = child_job
        command = _child_command(settings, child_job, policy, allowed, config_path)
        logger.info("discover %s: %d new onions of job %s (job %s)", policy, len(allowed), job_id, child_job)
        # Quiet child: its JSON summary is not ours to print; errors still reach stderr.
        result = subprocess.run(command, env=dict(os.environ), stdout=subprocess.DEVNULL, check=False)
        summary["exit_status"] = result.returncode
        onions_index = alias_name(settings.index_prefix, "onions")
        client.indices.refresh(index=onions_index)
        docs = client.mget(index=onions_index, ids=[onion_doc_id(host) for host in allowed]).body["docs"]
        # The front page's own title (a crawl's last page may be another of the host's).
        pages = client.mget(index=alias_name(settings.index_prefix, "pages"), source=["title"],
                            ids=[page_doc_id(canonical_url(f"http://{host}/")) for host in allowed]).body["docs"]
        front_titles = [(page.get("_source") or {}).get("title") if page.get("found") else None for page in pages]
        queue = alias_name(settings.index_prefix, KIND)
        for host, doc, front_title in zip(allowed, docs, front_titles):
            source = doc.get("_source") if doc.get("found") else None
            if not source or source.get("up") is None:
                summary["not_checked"] += 1
                continue
            up = bool(source.get("up"))
            fields = probed_fields(up, None if up else source.get("last_down_reason"),
                                   front_title or source.get("last_title"),
                                   source.get("last_status"), source.get("last_check_at") or source.get("last_seen"))
            if policy == "crawl":
                fields["status"] = CRAWLED
            client.update(index=queue, id=host, doc=fields, retry_on_conflict=3)
            summary["probed"] += 1
            summary["up" if up else "down"] += 1
        client.indices.refresh(index=queue)
    except (ApiError, TransportError) as exc:
        raise UserError(_("discover {policy}: {error}", policy=policy, error=describe_error(exc, settings))) from None
    finally:
        client.close()
    return summary
