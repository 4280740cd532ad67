"""``onionscope search "QUERY"``: ranked hits with highlighted snippets, onion host and fetch time.

``--json`` and ``--csv`` are the machine outputs; ``--kind`` is ``all`` by
default (the count and top hits of pages, listings, vendors, wallets and onions,
the same search the API and UI run: :func:`search.unified.find`) or one kind.  Every search is written to the
audit index as the local user (channel ``cli``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from config.errors import UserError
from config.schema import SEARCH_KINDS
from config.i18n import _

# ``all`` first: the default of the CLI, the API and the UI (search.unified.DEFAULT_KIND).
KINDS = ("all", *SEARCH_KINDS)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help=_('query, e.g. \'fentanyl market:alpha coin:xmr "next day"\''))
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    output.add_argument("--csv", action="store_true", help=_("print the hits as CSV"))
    parser.add_argument("--limit", type=int, default=None,
                        help=_("hits to show (1-100, default 10; with --kind all: per kind, default 3)"))
    parser.add_argument("--kind", choices=KINDS, default="all",
                        help=_("what to search (default: all, the count and top hits of every kind)"))
    parser.add_argument("--sort", choices=("relevance", "date"), default="relevance")
    parser.add_argument("--cursor", help=_("continue after a previous result (printed as 'more: --cursor ...')"))


def local_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def es_user_error(exc: BaseException, settings: Any) -> UserError:
    """A transport or API error from Elasticsearch as a one-line UserError."""
    from elasticsearch import NotFoundError

    from pipelines.es_client import describe_error

    if isinstance(exc, NotFoundError) and "index_not_found" in str(exc):
        return UserError(_("the indices under prefix {prefix} are not set up; run `onionscope index setup` or crawl "
                           "first", prefix=repr(settings.index_prefix)))
    return UserError(describe_error(exc, settings))


def run(args: argparse.Namespace, settings: Any) -> int:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from search.audit import record_search
    from search.auth import load_session_secret
    from search.cli_output import render_csv, render_hits, render_json
    from search.connection import connect
    from search.query import QueryLimits
    from search.unified import ALL, DEFAULT_TOP, find

    client = connect(settings)
    limits = QueryLimits.from_settings(settings)
    try:
        if args.kind == ALL:
            if args.cursor or args.sort != "relevance":
                raise UserError(_("--cursor and --sort need one --kind (pages, listings, ...)"))
            top = DEFAULT_TOP if args.limit is None else args.limit
            result = find(client, settings.index_prefix, args.query, kind=ALL, top=top, limits=limits)
        else:
            result = find(
                client,
                settings.index_prefix,
                args.query,
                kind=args.kind,
                sort=args.sort,
                limit=10 if args.limit is None else args.limit,
                cursor=args.cursor,
                cursor_secret=load_session_secret(settings),
                limits=limits,
                result_window=settings.search_max_window,
            )
        record_search(
            client, settings.index_prefix, actor_id="cli", actor_name=local_actor(), role="local",
            query=args.query, kind=args.kind, result_count=result.total, channel="cli",
        )
    except (TransportError, ApiError) as exc:
        raise es_user_error(exc, settings) from None
    if args.json:
        sys.stdout.write(render_json(result))
    elif args.csv:
        sys.stdout.write(render_csv(result))
    else:
        sys.stdout.write(render_hits(result, color=sys.stdout.isatty()))
    return 0
