"""``onionscope export``: a search result or one entity as CSV, JSON, STIX 2.1 or MISP event JSON;
or the onion graph as GEXF or GraphML (for Gephi).

    onionscope export --format stix --query 'fentanyl market:alpha' -o result.json
    onionscope export --format misp --wallet bc1q...
    onionscope export graph --format gexf -o onions.gexf
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from config.i18n import _
from config.os_reasons import os_reason


GRAPH_FORMATS = ("gexf", "graphml")
RECORD_FORMATS = ("csv", "json", "stix", "misp")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=("graph",),
                        help=_("graph: the whole onion graph (which onion names which), with --format gexf or graphml"))
    parser.add_argument("--format", choices=RECORD_FORMATS + GRAPH_FORMATS, required=True)
    subject = parser.add_mutually_exclusive_group()
    subject.add_argument("--query", help=_("export the hits of this query"))
    subject.add_argument("--wallet", help=_("export a wallet address and what uses it"))
    subject.add_argument("--vendor", help=_("export a vendor (its id) and its listings"))
    subject.add_argument("--onion", help=_("export an onion host and its pages"))
    parser.add_argument("--kind", choices=("pages", "listings", "vendors", "wallets"), default="listings",
                        help=_("what --query searches (default: listings)"))
    parser.add_argument("--limit", type=int, default=1000, help=_("most records of a --query export (1-1000)"))
    parser.add_argument("-o", "--output", help=_("file to write (default: standard output)"))


def run(args: argparse.Namespace, settings: Any) -> int:
    from config.errors import UserError

    chosen = [name for name in ("query", "wallet", "vendor", "onion") if getattr(args, name) is not None]
    if args.what == "graph":
        if chosen or args.format not in GRAPH_FORMATS:
            raise UserError(_("`onionscope export graph` takes --format gexf or graphml and no --query, --wallet, "
                              "--vendor or --onion"))
        return _export_graph(args, settings)
    if args.format not in RECORD_FORMATS or len(chosen) != 1:
        raise UserError(_("give one of --query, --wallet, --vendor or --onion with --format csv, json, stix or misp "
                          "(or export the onion graph: `onionscope export graph --format gexf`)"))
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from onionscope.commands.search import es_user_error, local_actor
    from search.audit import record_search
    from search.connection import connect
    from config.i18n import cli_language
    from search.exports import collect_onion, collect_search, collect_vendor, collect_wallet, render
    from search.query import QueryLimits

    client = connect(settings)
    prefix = settings.index_prefix
    try:
        if args.query is not None:
            export_set = collect_search(client, prefix, args.query, args.kind, args.limit,
                                        limits=QueryLimits.from_settings(settings),
                                        max_records=settings.export_max_records)
            subject, kind = args.query, args.kind
        elif args.wallet is not None:
            export_set, subject, kind = collect_wallet(client, prefix, args.wallet), f"wallet:{args.wallet}", "wallet"
        elif args.vendor is not None:
            export_set, subject, kind = collect_vendor(client, prefix, args.vendor), f"vendor-id:{args.vendor}", "vendor"
        else:
            export_set, subject, kind = collect_onion(client, prefix, args.onion), f"onion:{args.onion}", "onion"
        record_search(
            client, prefix, actor_id="cli", actor_name=local_actor(), role="local", query=subject, kind=kind,
            result_count=len(export_set.records), channel="export", detail={"format": args.format},
        )
    except (TransportError, ApiError) as exc:
        raise es_user_error(exc, settings) from None
    text, _media_type, _suffix = render(export_set, args.format, cli_language())
    if args.output:
        _write(args.output, text.encode("utf-8"))
        print(_("wrote {count} records to {path}", count=len(export_set.records), path=args.output), file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _export_graph(args: argparse.Namespace, settings: Any) -> int:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from onionscope.commands.search import es_user_error, local_actor
    from search.audit import record_search
    from search.blocklist import blocklist_of
    from search.connection import connect
    from search.es_steps import run as run_steps
    from search.onion_graph import export_graph, graph_steps

    client = connect(settings)
    try:
        graph = run_steps(client, graph_steps(settings.index_prefix, blocklist_of(client).onion_hosts))
        record_search(
            client, settings.index_prefix, actor_id="cli", actor_name=local_actor(), role="local", query="graph",
            kind="graph", result_count=len(graph.edges), channel="export",
            detail={"format": args.format, "nodes": len(graph.nodes), "truncated": graph.truncated},
        )
    except (TransportError, ApiError) as exc:
        raise es_user_error(exc, settings) from None
    data = export_graph(graph, args.format)
    note = _("{nodes} onions and {edges} edges", nodes=len(graph.nodes), edges=len(graph.edges)) + (
        " " + _("(page cap hit: partial)") if graph.truncated else "")
    if args.output:
        _write(args.output, data)
        print(_("wrote {what} to {path}", what=note, path=args.output), file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _write(path: str, data: bytes) -> None:
    """Write an export to ``path``; raises UserError (in the command's language) when it cannot be written."""
    from config.errors import UserError

    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UserError(_("{path}: cannot write it ({error})", path=path, error=os_reason(exc))) from None
