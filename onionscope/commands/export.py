"""``onionscope export``: a search result or one entity as CSV, JSON, STIX 2.1 or MISP event JSON.

    onionscope export --format stix --query 'fentanyl market:alpha' -o result.json
    onionscope export --format misp --wallet bc1q...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("csv", "json", "stix", "misp"), required=True)
    subject = parser.add_mutually_exclusive_group(required=True)
    subject.add_argument("--query", help="export the hits of this query")
    subject.add_argument("--wallet", help="export a wallet address and what uses it")
    subject.add_argument("--vendor", help="export a vendor (its id) and its listings")
    subject.add_argument("--onion", help="export an onion host and its pages")
    parser.add_argument("--kind", choices=("pages", "listings", "vendors", "wallets"), default="listings",
                        help="what --query searches (default: listings)")
    parser.add_argument("--limit", type=int, default=1000, help="most records of a --query export (1-1000)")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")


def run(args: argparse.Namespace, settings: Any) -> int:
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
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {len(export_set.records)} records to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
