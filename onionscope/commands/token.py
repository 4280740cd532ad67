"""``onionscope token create|revoke|list``: API tokens for the HTTP API and web UI.

``create --role viewer|analyst|admin [--name N] [--expires-in-days D]`` prints the
new token on its last line (it is stored only as a hash and cannot be shown
again; once expired it is refused everywhere, as a revoked one is);
``revoke TOKEN_OR_ID`` withdraws one (running API servers refuse it within
api_token_cache_seconds); ``list`` shows ids, names, roles.
"""

from __future__ import annotations

import argparse
from typing import Any
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help=_("make a new token (printed on the last line)"))
    create.add_argument("--role", choices=("viewer", "analyst", "admin"), required=True,
                        help=_("viewer: search and read; analyst: also watchlists and alerts; admin: also tokens"))
    create.add_argument("--name", help=_("who or what the token is for (shown in the audit log)"))
    create.add_argument("--expires-in-days", type=float, metavar="DAYS",
                        help=_("the token is refused everywhere from DAYS days on (default: never expires)"))
    revoke = sub.add_parser("revoke", help=_("withdraw a token, given the token or its id"))
    revoke.add_argument("token_or_id")
    sub.add_parser("list", help=_("list tokens (ids, names, roles, state)"))


def run(args: argparse.Namespace, settings: Any) -> int:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from onionscope.commands.search import es_user_error
    from search.auth import create_token, list_tokens, revoke_token
    from search.connection import connect
    from config.paths import index_templates_dir

    client = connect(settings)
    prefix = settings.index_prefix
    try:
        if args.token_command == "create":
            token, record = create_token(client, prefix, args.role, args.name, args.expires_in_days,
                                         templates_dir=index_templates_dir(settings.config_dir))
            expiry = ", " + _("expires {when}", when=record.expires_at) if record.expires_at else ""
            print(_("created {role} token {token} ({name}{expiry}); it is shown once, keep it safe:", role=record.role,
                    token=record.token_id, name=record.name, expiry=expiry))
            print(token)
        elif args.token_command == "revoke":
            record = revoke_token(client, prefix, args.token_or_id)
            print(_("revoked {role} token {token} ({name}) at {when}; running API servers refuse it within {seconds} s",
                    role=record.role, token=record.token_id, name=record.name, when=record.revoked_at,
                    seconds=f"{settings.api_token_cache_seconds:g}"))
        else:
            records = list_tokens(client, prefix)
            if not records:
                print(_("no tokens; make one with `onionscope token create --role viewer`"))
            for record in records:
                state = (_("revoked {when}", when=record.revoked_at) if record.revoked_at
                         else _("expired {when}", when=record.expires_at) if record.expired
                         else _("active until {when}", when=record.expires_at) if record.expires_at else _("active"))
                print(f"{record.token_id}  {record.role:<7}  {state:<28}  "
                      + _("created {when}", when=record.created_at) + f"  {record.name}")
    except (TransportError, ApiError) as exc:
        raise es_user_error(exc, settings) from None
    return 0
