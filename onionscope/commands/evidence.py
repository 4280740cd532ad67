"""``onionscope evidence``: verify the WARC evidence files, export a hit's evidence package, prune.

    onionscope evidence verify [PATH ...]          # default: every file under evidence_dir
    onionscope evidence export HIT_ID --out DIR    # HIT_ID: the id of a page or listing hit
    onionscope evidence prune [--dry-run]          # applies evidence_keep_days

``verify`` exits 1 and prints one line per problem, naming the file and the record, when any
file fails (0 when everything verifies); ``export`` exits 1 with a message when the hit has no
evidence or its record does not match its digest; ``prune`` prints what it removed (and what
it kept because an export or a watchlist protects it).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from config.paths import evidence_dir
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help=_("check WARC evidence files against their hash-chained manifests"))
    verify.add_argument("paths", nargs="*", metavar="PATH", help=_("WARC files or folders (default: evidence_dir)"))
    verify.add_argument("--json", action="store_true", help=_("print the problems as JSON"))
    export = sub.add_parser("export", help=_("write the evidence package of a search hit"))
    export.add_argument("hit_id", metavar="HIT_ID", help=_("the id of a page or listing hit"))
    export.add_argument("--out", required=True, metavar="DIR", help=_("folder to write the package into"))
    prune = sub.add_parser("prune", help=_("remove WARC files past evidence_keep_days that nothing protects"))
    prune.add_argument("--dry-run", action="store_true", help=_("report what would be removed; remove nothing"))
    prune.add_argument("--json", action="store_true", help=_("print the report as JSON"))


def run(args: argparse.Namespace, settings: Any) -> int:
    return {"verify": _verify, "export": _export, "prune": _prune}[args.evidence_command](args, settings)


def _verify(args: argparse.Namespace, settings: Any) -> int:
    from config.errors import UserError
    from crawler.evidence.chain import verify_warc_file, warc_files

    paths = args.paths or [evidence_dir(settings)]
    try:
        files = warc_files(paths)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    problems = []
    for path in files:
        problems.extend(verify_warc_file(path))
    if args.json:
        print(json.dumps({"files": len(files), "problems": [vars(problem) for problem in problems]}, indent=2))
    else:
        for problem in problems:
            print(problem)
        failed = len({problem.file for problem in problems})
        print(_("{files} WARC files checked, {failed} failed", files=len(files), failed=failed) if problems
              else _("{files} WARC files checked, all verify", files=len(files)), file=sys.stderr)
    return 1 if problems else 0


def _export(args: argparse.Namespace, settings: Any) -> int:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from onionscope.commands.search import es_user_error, local_actor
    from search.audit import record_search
    from search.connection import connect
    from search.es_steps import run as run_steps
    from search.evidence import EvidenceError, hit_document_steps, write_package

    client = connect(settings)
    try:
        found = run_steps(client, hit_document_steps(settings.index_prefix, args.hit_id))
        record_search(client, settings.index_prefix, actor_id="cli", actor_name=local_actor(), role="local",
                      query=f"evidence:{args.hit_id}", kind=found[0] if found else "evidence",
                      result_count=1 if found else 0, channel="export", detail={"format": "evidence"})
    except (TransportError, ApiError) as exc:
        raise es_user_error(exc, settings) from None
    if found is None:
        raise EvidenceError(_("no page or listing has the id {hit}", hit=repr(args.hit_id)))
    kind, source = found
    package = write_package(evidence_dir(settings), kind, args.hit_id, source, args.out)
    print(_("wrote the evidence package of {kind} {hit} to {directory} ({files}); check it with: cd {directory} "
            "&& sha256sum -c SHA256SUMS", kind=kind, hit=args.hit_id, directory=package.directory,
            files=", ".join(package.files)), file=sys.stderr)
    return 0


def _prune(args: argparse.Namespace, settings: Any) -> int:
    from crawler.evidence.retention import prune

    report = prune(evidence_dir(settings), settings.evidence_keep_days, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    for removed in report.removed:
        print((_("would remove {file} ({bytes} bytes, newest record {newest})") if args.dry_run
               else _("removed {file} ({bytes} bytes, newest record {newest})")).format(
            file=removed["file"], bytes=removed["bytes"], newest=removed["newest_record"]))
    for kept in report.protected:
        print(_("kept {file}: protected ({reasons})", file=kept["file"], reasons="; ".join(kept["reasons"])))
    print((_("would remove {removed} WARC files; kept {protected} protected and {recent} within evidence_keep_days "
             "({days})") if args.dry_run
           else _("removed {removed} WARC files; kept {protected} protected and {recent} within evidence_keep_days "
                  "({days})")).format(removed=len(report.removed), protected=len(report.protected),
                                      recent=report.kept_recent, days=settings.evidence_keep_days), file=sys.stderr)
    return 0
