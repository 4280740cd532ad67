"""The ``onionscope`` command: parses arguments and dispatches to onionscope.commands.*.

Returns the subcommand's exit status.  A :class:`config.errors.UserError`
(configuration errors included) is printed as one line on stderr with status 1;
anything else is a bug and keeps its traceback.

The language (``--lang``, else the ``language`` setting, else the process's
locale) is chosen before the parser is built, so the help of every command and
option, argparse's own words (usage, option titles, its errors) and every
message of the commands speak it (:mod:`config.i18n`).  Option names, query
field names and JSON keys are the same in every language.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, Sequence

from onionscope import __version__
from config.errors import UserError
from config.i18n import LANGUAGES, N_, _, choose_language, set_cli_language

# name -> (module under onionscope.commands, one-line help, translated when the parser is built)
COMMANDS: dict[str, tuple[str, str]] = {
    "services": ("services", N_("start, stop or show the local Elasticsearch node")),
    "testnet": ("testnet", N_("start, stop or show the private Tor network on 127.0.0.1")),
    "tor": ("tor", N_("inspect and control the tor client (bootstrap, circuits, NEWNYM)")),
    "crawl": ("crawl", N_("crawl onion sites through Tor into Elasticsearch")),
    "extract": ("extract", N_("run the full extraction on a saved page")),
    "profile": ("profile", N_("suggest a market profile from saved pages (profile suggest)")),
    "scheduler": ("scheduler", N_("run the scheduled crawl jobs of config/schedules.yml (a daemon)")),
    "jobs": ("jobs", N_("list, run, show the status and the history of scheduled crawl jobs")),
    "search": ("search", N_("search what was crawled")),
    "serve": ("serve", N_("start the HTTP API and web UI")),
    "token": ("token", N_("create or revoke API tokens")),
    "watch": ("watch", N_("watchlists and alerts: add, list, remove entries; show, check and deliver alerts")),
    "export": ("export", N_("export a search result or an entity (CSV, JSON, STIX 2.1, MISP), or the onion graph "
                            "(GEXF, GraphML)")),
    "index": ("index", N_("set up or migrate the Elasticsearch indices")),
    "evidence": ("evidence", N_("verify the WARC evidence files, export a hit's evidence package, prune")),
    "demo": ("demo", N_("bring up the private network, demo sites and Elasticsearch, crawl, show results")),
}

# argparse's own words that a user sees (Python 3.11's argparse, which looks them up through its module's
# ``_``); :func:`_speak_argparse` sends them through the command's catalogue.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("expected one argument"),
    N_("expected at least one argument"),
    N_("expected at most one argument"),
    N_("not allowed with argument %s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("ignored explicit argument %r"),
)


def _speak_argparse() -> None:
    """Make argparse's own messages (usage, titles, its errors) speak the command's language.

    argparse asks its module-level ``_`` (the standard library's gettext) for
    each of them when it builds a parser or reports an error; the command's
    catalogue answers instead.  A message not in :data:`ARGPARSE_MESSAGES`
    stays English.
    """
    argparse._ = _  # type: ignore[attr-defined]


def _early_language(argv: Sequence[str]) -> tuple[Any, UserError | None]:
    """Set the command's language before any parser exists; returns (settings or None, their load error).

    ``--lang`` wins; else the ``language`` setting of ``--config`` (or the
    default file and ``ONIONSCOPE_*``); else the process's locale.  A settings
    file that does not load is reported later, after the arguments are parsed
    (so ``--help`` still works with a broken file), in the language of
    ``--lang``, ``ONIONSCOPE_LANGUAGE`` or the locale.
    """
    from config.settings import load_settings

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang")
    early.add_argument("--config")
    known, _rest = early.parse_known_args(list(argv))
    explicit = known.lang if known.lang in LANGUAGES else None  # an unknown --lang: argparse refuses it
    # First without the settings file, so that its own errors (a typo, a bad value) speak the language
    # of --lang, ONIONSCOPE_LANGUAGE or the locale; then with the file's language setting once it loads.
    variable = os.environ.get("ONIONSCOPE_LANGUAGE", "").strip().lower()
    set_cli_language(choose_language(explicit, variable if variable in LANGUAGES else "auto"))
    settings, error = None, None
    try:
        settings = load_settings(known.config)
    except UserError as exc:
        error = exc
    if settings is not None:
        set_cli_language(choose_language(explicit, settings.language))
    return settings, error


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command's parser, its help in the command's language; ``only`` configures that subcommand's options."""
    _speak_argparse()
    parser = argparse.ArgumentParser(
        prog="onionscope", description=_("Tor-aware crawler and search for darknet-market investigations.")
    )
    parser.add_argument("--version", action="version", version=f"onionscope {__version__}",
                        help=_("show program's version number and exit"))
    parser.add_argument("--config", help=_("YAML settings file (default: config/onionscope.yml)"))
    parser.add_argument("--lang", choices=LANGUAGES,
                        help=_("language of messages and labels (default: the language setting)"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, message) in COMMANDS.items():
        help_text = _(message)
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if only == name:
            _load(module_name).configure(sub_parser)
    return parser


def _load(module_name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"onionscope.commands.{module_name}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings, settings_error = _early_language(argv)
    # Find the subcommand first so only its module is imported.
    command = next((arg for arg in argv if arg in COMMANDS), None)
    parser = build_parser(only=command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if settings_error is not None:
            raise settings_error
        return int(_load(COMMANDS[args.command][0]).run(args, settings) or 0)
    except UserError as exc:
        print(_("onionscope: error: {message}", message=exc.localized(_)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
