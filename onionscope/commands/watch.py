"""``onionscope watch``: watchlists and their alerts from the command line.

* ``add KIND VALUE [--list NAME] [--owner TOKEN_ID] [--shared] [--note TEXT]`` --
  KIND is query, wallet, vendor, pgp or onion; a query the search parser
  refuses is refused with the search's message.  Without ``--owner`` the
  entry is shared (every token sees it); with it, it belongs to that token.
* ``list [--json]`` -- every entry (the command line sees them all).
* ``remove ENTRY_ID`` -- delete one (its alerts stay).
* ``alerts [--unread] [--limit N] [--json]`` -- the newest alerts.
* ``check --job JOB_ID`` -- make the alerts of a finished run again (a crawl does
  it itself; nothing already alerted is alerted twice).
* ``deliver [--json]`` -- send the alerts that wait for the webhook (signed,
  retried with back-off; :mod:`search.webhooks`).  Exit status 1 when some
  are still undelivered.

Exit status 0 otherwise; a bad entry, an unknown id or an unreachable
Elasticsearch is a one-line error (status 1).
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    from search.watchlists import ENTRY_KINDS

    sub = parser.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help=_("watch a query, wallet, vendor, PGP fingerprint or onion"))
    add.add_argument("kind", choices=ENTRY_KINDS)
    add.add_argument("value", help=_("the query (in the query language), address, vendor name, fingerprint or host"))
    add.add_argument("--list", dest="list_name", metavar="NAME", help=_("the list it belongs to (default: watchlist)"))
    add.add_argument("--owner", metavar="TOKEN_ID", help=_("the token it belongs to (`onionscope token list`); "
                                                         "default: shared with every token"))
    add.add_argument("--shared", action="store_true", help=_("shared with every token even with --owner"))
    add.add_argument("--note", help=_("why it is watched"))
    listing = sub.add_parser("list", help=_("list every watchlist entry"))
    listing.add_argument("--json", action="store_true")
    remove = sub.add_parser("remove", help=_("remove an entry by its id"))
    remove.add_argument("entry_id")
    alerts = sub.add_parser("alerts", help=_("show the newest alerts"))
    alerts.add_argument("--unread", action="store_true", help=_("only unread ones"))
    alerts.add_argument("--limit", type=int, default=50, metavar="N")
    alerts.add_argument("--json", action="store_true")
    check = sub.add_parser("check", help=_("make the alerts of a finished crawl run (idempotent)"))
    check.add_argument("--job", required=True, metavar="JOB_ID")
    deliver = sub.add_parser("deliver", help=_("send the alerts waiting for the webhook"))
    deliver.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, settings: Any) -> int:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from onionscope.commands.search import es_user_error
    from search.connection import connect

    client = connect(settings)
    try:
        return _ACTIONS[args.watch_command](args, settings, client)
    except (TransportError, ApiError) as exc:
        raise es_user_error(exc, settings) from None
    finally:
        client.close()


def _add(args: argparse.Namespace, settings: Any, client: Any) -> int:
    from config.errors import UserError
    from config.paths import index_templates_dir
    from search.auth import list_tokens
    from search.query import QueryLimits
    from search.watchlists import add_entry

    owner_id, owner_name = "", ""
    if args.owner:
        record = next((record for record in list_tokens(client, settings.index_prefix)
                       if record.token_id == args.owner.strip().lower()), None)
        if record is None:
            raise UserError(_("no token with id {token}; `onionscope token list` shows the ids",
                              token=repr(args.owner[:20])))
        owner_id, owner_name = record.token_id, record.name
    entry = add_entry(client, settings.index_prefix, args.kind, args.value, owner_id=owner_id, owner_name=owner_name,
                      shared=args.shared, list_name=args.list_name, note=args.note,
                      limits=QueryLimits.from_settings(settings),
                      templates_dir=index_templates_dir(settings.config_dir))
    whose = _("shared") if entry.shared else _("owned by {name} ({token})", name=entry.owner_name,
                                               token=entry.owner_id)
    print(_("watching {kind} {value} in list {list} ({whose}); entry {entry}", kind=entry.kind, value=entry.query,
            list=entry.list, whose=whose, entry=entry.entry_id))
    return 0


def _list(args: argparse.Namespace, settings: Any, client: Any) -> int:
    from search.cli_output import escape_invisible
    from search.watchlists import list_entries

    entries = list_entries(client, settings.index_prefix, everything=True)
    if args.json:
        print(json.dumps([entry.to_json() for entry in entries], indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print(_("nothing is watched; add an entry with `onionscope watch add KIND VALUE`"))
    for entry in entries:
        whose = _("shared") if entry.shared else entry.owner_id
        print(escape_invisible(f"{entry.entry_id}  {entry.list:<12}  {entry.kind:<6}  {whose:<16}  {entry.query}"))
    return 0


def _remove(args: argparse.Namespace, settings: Any, client: Any) -> int:
    from search.watchlists import remove_entry

    entry = remove_entry(client, settings.index_prefix, args.entry_id.strip())
    print(_("removed {kind} {value} ({entry}); its alerts stay", kind=entry.kind, value=entry.query,
            entry=entry.entry_id))
    return 0


def _alerts(args: argparse.Namespace, settings: Any, client: Any) -> int:
    from search.alerts import list_alerts
    from search.cli_output import escape_invisible

    alerts = list_alerts(client, settings.index_prefix, everything=True, unread_only=args.unread,
                         limit=args.limit)
    if args.json:
        print(json.dumps(alerts, indent=2, ensure_ascii=False))
        return 0
    if not alerts:
        print(_("no unread alerts") if args.unread else _("no alerts"))
    for alert in alerts:
        state = _("read") if alert.get("read_at") else _("NEW ")
        # Crawled text: invisible and control characters are shown as escapes.
        print(escape_invisible(f"{alert['created_at']}  {state}  {alert['entry_kind']}:{alert['entry_value']}  "
                               f"{(alert.get('hit') or {}).get('kind', '')}  {alert.get('title') or ''}  "
                               f"{alert.get('url') or ''}  " + _("webhook {state}", state=alert.get("webhook_state"))))
    return 0


def _check(args: argparse.Namespace, settings: Any, client: Any) -> int:
    from config.paths import index_templates_dir
    from search.alerts import alert_run
    from search.query import QueryLimits
    from search.webhooks import webhook_settings

    result = alert_run(client, settings.index_prefix, args.job, limits=QueryLimits.from_settings(settings),
                       webhook=webhook_settings(settings) is not None,
                       templates_dir=index_templates_dir(settings.config_dir))
    print(json.dumps(result.to_json(), sort_keys=True))
    return 0


def _deliver(args: argparse.Namespace, settings: Any, client: Any) -> int:
    from config.errors import UserError
    from search.webhooks import deliver_pending, webhook_settings

    webhook = webhook_settings(settings)
    if webhook is None:
        raise UserError(_("no webhook: set alert_webhook_url and alert_webhook_secret (ONIONSCOPE_ALERT_WEBHOOK_URL, "
                          "ONIONSCOPE_ALERT_WEBHOOK_SECRET)"))
    summary = deliver_pending(client, settings.index_prefix, webhook)
    if args.json:
        print(json.dumps(summary.to_json(), sort_keys=True))
    else:
        print(_("webhook: {delivered} delivered, {retrying} to retry, {failed} failed ({attempts} attempts)",
                delivered=summary.delivered, retrying=summary.retrying, failed=summary.failed,
                attempts=summary.attempts))
    return 1 if summary.retrying or summary.failed else 0


_ACTIONS = {"add": _add, "list": _list, "remove": _remove, "alerts": _alerts, "check": _check, "deliver": _deliver}
