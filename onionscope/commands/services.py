"""``onionscope services up|down|status``: the local Elasticsearch node, or a local cluster of them.

``up --nodes 3`` starts a 3-node cluster on loopback (ports ``es_port`` to
``es_port + 2``, a data folder each); without ``--nodes``, as many nodes as
this var dir last ran, one the first time.  ``down`` stops every node,
``status`` shows each.

``up`` starts the node (harmless when it already runs) and waits until cluster
health answers and the indices it holds have their primary shards back; ``down`` stops only the node ``up`` started; ``status`` prints
whether it runs, its version and health.  When ``es_url`` points somewhere
else, the local node is not needed and ``up`` says so and does nothing.
Returns 0 on success, 1 when ``status`` finds no node; raises
:class:`harness.elasticsearch_node.NodeError` for a failed start.

The local Redis of the shared crawl frontier (:mod:`harness.redis_server`)
goes up, down and into ``status`` beside the node, unless ``redis_url``
names another Redis; ``status`` then only says so.  A Redis that cannot
start raises :class:`harness.redis_server.RedisError`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness import elasticsearch_node, redis_server
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help=_("start the local Elasticsearch node and Redis and wait until they answer"))
    up.add_argument("--timeout", type=float, default=180.0, help=_("seconds to wait for readiness (default 180)"))
    up.add_argument(
        "--nodes", type=int, default=None, metavar="N",
        help=_("nodes of the local cluster, on loopback ports es_port..es_port+N-1 "
             "(default: as many as last time, 1 the first time)"),
    )
    up.add_argument(
        "--force", action="store_true",
        help=_("start the local node even though es_url points at another Elasticsearch"),
    )
    actions.add_parser("down", help=_("stop the node and Redis `up` started (never anything else)"))
    actions.add_parser("status", help=_("show whether the local node and Redis run, their versions and health"))


def run(args: argparse.Namespace, settings: Any) -> int:
    redis_ok = _redis(args.action, settings)
    code = _elasticsearch(args, settings)
    return code if redis_ok else 1


def _redis(action: str, settings: Any) -> bool:
    """Start, stop or show the local Redis; returns False only when ``status`` finds it not running."""
    if not redis_server.redis_url_is_local(settings):
        if action == "status":
            print(_("redis_url is {url}: the shared frontier uses that Redis, not a local one", url=settings.redis_url))
        return True
    if action == "up":
        started = redis_server.start(settings)
        print(_("Redis already running at {url} (pid {pid})", url=started.url, pid=started.pid)
              if started.already_running
              else _("Redis started in {seconds}s at {url} (pid {pid})", seconds=f"{started.seconds:.1f}",
                     url=started.url, pid=started.pid))
        return True
    if action == "down":
        print(_("Redis stopped") if redis_server.stop(settings) else _("no Redis started by onionscope is running"))
        return True
    state = redis_server.status(settings)
    if state.running:
        print(_("Redis running at {url} (pid {pid}), version {version}, appendonly {appendonly}", url=state.url,
                pid=state.pid, version=state.version, appendonly=_("yes") if state.appendonly else _("no")))
        return True
    if state.foreign:
        print(_("a Redis not started by onionscope answers at {url}: version {version}", url=state.url,
                version=state.version))
        return True
    print(_("Redis is not running at {url}", url=state.url))
    return False


def _elasticsearch(args: argparse.Namespace, settings: Any) -> int:
    if args.action == "up":
        if not elasticsearch_node.es_url_is_local_node(settings) and not args.force:
            print(_("es_url is {url}, not the local node; nothing to start (use --force to start it anyway)",
                    url=settings.es_url))
            return 0
        result = elasticsearch_node.start(settings, timeout=args.timeout, nodes=getattr(args, "nodes", None))
        if result.already_running:
            print(_("Elasticsearch already running at {url} (pid {pid})", url=result.url, pid=result.pid))
        else:
            print(_("Elasticsearch started at {url} (pid {pid}) in {seconds}s", url=result.url, pid=result.pid,
                    seconds=f"{result.seconds:.1f}"))
        for url, pid in result.nodes[1:]:
            print("  " + _("and node {url} (pid {pid}) of the same cluster, health {health}", url=url, pid=pid,
                           health=result.health))
        if result.health == "red":
            print(_("warning: cluster health is still red after {seconds}s: an index has no primary shard; see "
                    "{url}/_cluster/health?level=indices", seconds=f"{result.seconds:.0f}", url=result.url),
                  file=sys.stderr)
        return 0
    if args.action == "down":
        if elasticsearch_node.stop(settings):
            print(_("Elasticsearch stopped"))
        else:
            print(_("no Elasticsearch started by onionscope is running"))
        return 0
    node, *others = elasticsearch_node.cluster_status(settings)
    if node.running:
        print(_("Elasticsearch running at {url} (pid {pid}), version {version}, health {health}", url=node.url,
                pid=node.pid, version=node.version, health=node.health))
    for other in others:  # the other nodes of a local cluster, when `up --nodes N` started one
        state = _("running (pid {pid})", pid=other.pid) if other.running else _("not running")
        print("  " + _("cluster node {url}: {state}", url=other.url, state=state))
    if node.running:
        return 0
    if node.foreign:
        print(_("an Elasticsearch not started by onionscope answers at {url}: version {version}, health {health}",
                url=node.url, version=node.version, health=node.health))
        return 0
    print(_("Elasticsearch is not running at {url}", url=node.url))
    if not elasticsearch_node.es_url_is_local_node(settings):
        print(_("(es_url is {url}; the local node is not used)", url=settings.es_url))
    return 1
