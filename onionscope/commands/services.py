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


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start the local Elasticsearch node and Redis and wait until they answer")
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for readiness (default 180)")
    up.add_argument(
        "--nodes", type=int, default=None, metavar="N",
        help="nodes of the local cluster, on loopback ports es_port..es_port+N-1 "
             "(default: as many as last time, 1 the first time)",
    )
    up.add_argument(
        "--force", action="store_true",
        help="start the local node even though es_url points at another Elasticsearch",
    )
    actions.add_parser("down", help="stop the node and Redis `up` started (never anything else)")
    actions.add_parser("status", help="show whether the local node and Redis run, their versions and health")


def run(args: argparse.Namespace, settings: Any) -> int:
    redis_ok = _redis(args.action, settings)
    code = _elasticsearch(args, settings)
    return code if redis_ok else 1


def _redis(action: str, settings: Any) -> bool:
    """Start, stop or show the local Redis; returns False only when ``status`` finds it not running."""
    if not redis_server.redis_url_is_local(settings):
        if action == "status":
            print(f"redis_url is {settings.redis_url}: the shared frontier uses that Redis, not a local one")
        return True
    if action == "up":
        started = redis_server.start(settings)
        verb = "already running" if started.already_running else f"started in {started.seconds:.1f}s"
        print(f"Redis {verb} at {started.url} (pid {started.pid})")
        return True
    if action == "down":
        print("Redis stopped" if redis_server.stop(settings) else "no Redis started by onionscope is running")
        return True
    state = redis_server.status(settings)
    if state.running:
        print(f"Redis running at {state.url} (pid {state.pid}), version {state.version}, "
              f"appendonly {'yes' if state.appendonly else 'no'}")
        return True
    if state.foreign:
        print(f"a Redis not started by onionscope answers at {state.url}: version {state.version}")
        return True
    print(f"Redis is not running at {state.url}")
    return False


def _elasticsearch(args: argparse.Namespace, settings: Any) -> int:
    if args.action == "up":
        if not elasticsearch_node.es_url_is_local_node(settings) and not args.force:
            print(f"es_url is {settings.es_url}, not the local node; nothing to start (use --force to start it anyway)")
            return 0
        result = elasticsearch_node.start(settings, timeout=args.timeout, nodes=getattr(args, "nodes", None))
        if result.already_running:
            print(f"Elasticsearch already running at {result.url} (pid {result.pid})")
        else:
            print(f"Elasticsearch started at {result.url} (pid {result.pid}) in {result.seconds:.1f}s")
        for url, pid in result.nodes[1:]:
            print(f"  and node {url} (pid {pid}) of the same cluster, health {result.health}")
        if result.health == "red":
            print(f"warning: cluster health is still red after {result.seconds:.0f}s: an index has no primary shard; "
                  f"see {result.url}/_cluster/health?level=indices", file=sys.stderr)
        return 0
    if args.action == "down":
        if elasticsearch_node.stop(settings):
            print("Elasticsearch stopped")
        else:
            print("no Elasticsearch started by onionscope is running")
        return 0
    node, *others = elasticsearch_node.cluster_status(settings)
    if node.running:
        print(f"Elasticsearch running at {node.url} (pid {node.pid}), version {node.version}, health {node.health}")
    for other in others:  # the other nodes of a local cluster, when `up --nodes N` started one
        state = f"running (pid {other.pid})" if other.running else "not running"
        print(f"  cluster node {other.url}: {state}")
    if node.running:
        return 0
    if node.foreign:
        print(f"an Elasticsearch not started by onionscope answers at {node.url}: "
              f"version {node.version}, health {node.health}")
        return 0
    print(f"Elasticsearch is not running at {node.url}")
    if not elasticsearch_node.es_url_is_local_node(settings):
        print(f"(es_url is {settings.es_url}; the local node is not used)")
    return 1
