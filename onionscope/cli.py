"""The ``onionscope`` command: parses arguments and dispatches to onionscope.commands.*.

Returns the subcommand's exit status.  A :class:`config.errors.UserError`
(configuration errors included) is printed as one line on stderr with status 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from onionscope import __version__
from config.errors import UserError
from config.i18n import LANGUAGES, _, choose_language, set_cli_language

# name -> (module under onionscope.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "services": ("services", "start, stop or show the local Elasticsearch node"),
    "testnet": ("testnet", "start, stop or show the private Tor network on 127.0.0.1"),
    "tor": ("tor", "inspect and control the tor client (bootstrap, circuits, NEWNYM)"),
    "crawl": ("crawl", "crawl onion sites through Tor into Elasticsearch"),
    "extract": ("extract", "run the full extraction on a saved page"),
    "profile": ("profile", "suggest a market profile from saved pages (profile suggest)"),
    "scheduler": ("scheduler", "run the scheduled crawl jobs of config/schedules.yml (a daemon)"),
    "jobs": ("jobs", "list, run, show the status and the history of scheduled crawl jobs"),
    "search": ("search", "search what was crawled"),
    "serve": ("serve", "start the HTTP API and web UI"),
    "token": ("token", "create or revoke API tokens"),
    "watch": ("watch", "watchlists and alerts: add, list, remove entries; show, check and deliver alerts"),
    "export": ("export", "export a search result or an entity (CSV, JSON, STIX 2.1, MISP), or the onion graph (GEXF, GraphML)"),
    "index": ("index", "set up or migrate the Elasticsearch indices"),
    "evidence": ("evidence", "verify the WARC evidence files, export a hit's evidence package, prune"),
    "demo": ("demo", "bring up the private network, demo sites and Elasticsearch, crawl, show results"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onionscope", description="Tor-aware crawler and search for darknet-market investigations."
    )
    parser.add_argument("--version", action="version", version=f"onionscope {__version__}")
    parser.add_argument("--config", help="YAML settings file (default: config/onionscope.yml)")
    parser.add_argument("--lang", choices=LANGUAGES, help="language of messages and labels (default: the language setting)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if only == name:
            _load(module_name).configure(sub_parser)
    return parser


def _load(module_name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"onionscope.commands.{module_name}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Find the subcommand first so only its module is imported.
    command = next((arg for arg in argv if arg in COMMANDS), None)
    parser = build_parser(only=command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from config.settings import load_settings

    if args.lang:
        set_cli_language(args.lang)  # before the settings, so that their errors speak it too
    try:
        settings = load_settings(args.config)
        set_cli_language(choose_language(args.lang, settings.language))
        return int(_load(COMMANDS[args.command][0]).run(args, settings) or 0)
    except UserError as exc:
        print(_("onionscope: error: {message}", message=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
