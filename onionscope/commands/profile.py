"""``onionscope profile suggest PAGE.html [PAGE.html ...] --market NAME``: a market profile from saved pages.

    onionscope profile suggest saved/*.html --market empire --host <56 characters>.onion

Runs the extraction without a profile on each page, turns what it found (the
listing cards, a detail page's title and price, a vendor's name) into
selectors, and writes a short profile (default
``<config_dir>/markets/NAME.yml``; never over an existing file without
``--force``) for a person to review: lines that rest on thin evidence end in
``# check``.  It then prints, per page, what the extraction found without
and with the new profile.  The suggestion is
:func:`crawler.extractors.profile_suggestion.suggest_profile`.

Page names, paths and messages are printed through the project's one
terminal escaper, :func:`search.cli_output.escape_terminal`.

``configure(parser)`` adds the arguments; ``run(args, settings) -> int``
returns 0, or raises :class:`config.errors.UserError` (a missing page, a bad
market name or host, an existing file without ``--force``, pages with nothing
to suggest from), which the command prints as one line with status 1.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from config.errors import UserError
from search.cli_output import escape_terminal
from config.i18n import _
from config.os_reasons import os_reason

MAX_PAGES = 200
MAX_PAGE_BYTES = 10 * 1024 * 1024


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    suggest = sub.add_parser(
        "suggest", help=_("write a market profile inferred from saved pages, for review"),
        description=_("Write a market profile inferred from saved pages of one market (category or search "
                    "results, listing pages, vendor profiles), for a person to review."),
    )
    suggest.add_argument("pages", nargs="+", metavar="PAGE.html", help=_("saved HTML pages of the market"))
    suggest.add_argument("--market", required=True, help=_("the market's name (lower-case letters, digits, - or _)"))
    suggest.add_argument("--host", help=_("the market's onion host (default: the pages' canonical URL, if any)"))
    suggest.add_argument("--out", metavar="FILE", help=_("where to write it (default: <config_dir>/markets/NAME.yml)"))
    suggest.add_argument("--force", action="store_true", help=_("replace FILE if it exists"))


def _safe(value: Any) -> str:
    return escape_terminal(str(value))


def _read(paths: list[str]) -> list[Any]:
    from crawler.extractors.profile_suggestion import SavedPage

    if len(paths) > MAX_PAGES:
        raise UserError(_("{count} pages: give at most {limit} (a few of each page type are plenty)", count=len(paths),
                          limit=MAX_PAGES))
    pages = []
    for text in paths:
        path = Path(text)
        if not path.is_file():
            raise UserError(_("{path}: no such file; give the paths of saved HTML pages", path=_safe(path)))
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise UserError(_("{path}: {size} MB is larger than the {limit} MB a page may be", path=_safe(path),
                              size=f"{size / 1_048_576:.1f}", limit=MAX_PAGE_BYTES // 1_048_576))
        try:
            pages.append(SavedPage(path.name, path.read_bytes()))
        except OSError as exc:
            raise UserError(_("{path}: cannot read it ({error})", path=_safe(path), error=os_reason(exc))) from None
    return pages


def _write(path: Path, text: str, force: bool) -> None:
    """Write ``text`` to ``path``: created exclusively (never over a file that exists or appears
    meanwhile) unless ``force``, then written whole to a temporary file renamed into place."""
    if not path.parent.is_dir():
        raise UserError(_("{path}: no such folder; create it or pass --out FILE", path=_safe(path.parent)))
    try:
        if not force:
            with open(path, "x", encoding="utf-8") as out:
                out.write(text)
            return
        handle, temporary = tempfile.mkstemp(prefix=".suggest-", suffix=".yml.tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except FileExistsError:
        raise UserError(_("{path} exists; pass --force to replace it, or --out FILE to write elsewhere",
                          path=_safe(path))) from None
    except OSError as exc:
        raise UserError(_("{path}: cannot write it ({error})", path=_safe(path), error=os_reason(exc))) from None


def run(args: argparse.Namespace, settings: Any) -> int:
    from crawler.extractors.profile_suggestion import suggest_profile

    pages = _read(args.pages)
    suggestion = suggest_profile(pages, args.market, host=args.host)
    out = Path(args.out) if args.out else Path(settings.config_dir) / "markets" / f"{args.market}.yml"
    _write(out, suggestion.text, args.force)
    lines = suggestion.text.count("\n")
    print(_("wrote {path} ({lines} lines), a profile for market {market} suggested from {count} page(s)",
            path=_safe(out), lines=lines, market=_safe(args.market), count=len(pages)))
    print("  " + _("page").ljust(30) + _("without a profile").ljust(24) + _("with the profile").ljust(24)
          + _("same title and price"))
    for check in suggestion.pages:
        before = f"{check.generic_type or '-'} {check.generic_listings}"
        after = f"{check.profile_type or '-'} {check.profile_listings}"
        same = (_("{same} of {count}", same=check.same_title_price, count=check.generic_listings)
                if check.generic_listings else "-")
        print(f"  {_safe(check.name)[:29]:<30}{before:<24}{after:<24}{same}")
    marked = suggestion.text.count("# check")
    for note in suggestion.checks:
        print("  " + _("check: {note}", note=_safe(note)))
    print(_("review the {count} line(s) marked '# check' in {path}, then try it on a page: ", count=marked,
            path=_safe(out)) + f"onionscope extract PAGE.html --market {_safe(args.market)}"
          + ("" if out.parent == Path(settings.config_dir) / "markets" else f" --profiles {_safe(out.parent)}"))
    return 0
