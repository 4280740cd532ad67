"""``onionscope index setup|migrate KIND|replay-spool|sites|status``: the Elasticsearch indices.

* ``setup`` installs the templates and points every alias at a versioned index (idempotent);
* ``migrate KIND`` copies KIND into a new versioned index from the current template
  and moves the alias (``--delete-old`` drops the previous index afterwards);
* ``replay-spool`` retries what the bulk pipeline spooled under ``<var_dir>/spool``, each record
  into the index prefix it was spooled for (``index_prefix`` for records that name none), never
  over a newer crawl of the same document;
* ``sites`` gives every onion its site type and groups near-duplicate onions into mirrors and possible
  phishing clones (:mod:`pipelines.onion_sites`); ``onionscope crawl`` runs it when a crawl ends;
* ``status`` lists alias -> index, document counts and schema versions;
* ``snapshot [--name NAME]`` snapshots every index of the prefix (with its aliases) into the
  repository ``snapshot_repository`` (registered at ``<path.repo>/<name>`` when missing);
  ``snapshots`` lists that repository; ``restore NAME [--kind KIND]...`` brings the prefix's
  indices back from a snapshot, never over an index that exists (:mod:`pipelines.snapshots`).

Returns 0 on success; 1 when ``replay-spool`` leaves records behind or
``status`` finds a kind that needs a migration.  Raises UserError (printed
as one line) when Elasticsearch is unreachable, or a snapshot or restore is
refused or incomplete.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.paths import index_templates_dir
from pipelines import indices, snapshots
from pipelines.onion_sites import DEFAULT_THRESHOLD, SitesReport, index_sites
from pipelines.spool_replay import replay_spool
from pipelines.es_client import ensure_reachable, make_client
from config.i18n import _


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("setup", help=_("install templates and aliases (safe to repeat)"))
    migrate = actions.add_parser("migrate", help=_("copy one kind into a new versioned index and move its alias"))
    migrate.add_argument("kind", choices=indices.KINDS)
    migrate.add_argument("--delete-old", action="store_true", help=_("delete the previous index after the move"))
    migrate.add_argument("--batch-size", type=int, default=indices.COPY_BATCH_SIZE, help=_("documents per copy batch"))
    replay = actions.add_parser("replay-spool", help=_("index what the bulk pipeline could not, from var/spool"))
    replay.add_argument("--spool-dir", type=Path, help=_("spool folder (default: <var_dir>/spool)"))
    actions.add_parser("status", help=_("aliases, indices, document counts, schema versions"))
    sites = actions.add_parser("sites", help=_("site type of every onion, and groups of mirrors and phishing clones "
                                             "(run after a crawl; `onionscope crawl` runs it when it ends)"))
    sites.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                       help=_("content likeness (0-1) that makes two onions near-duplicates (default {threshold})",
                              threshold=DEFAULT_THRESHOLD))
    sites.add_argument("--json", action="store_true", help=_("print the groups as JSON"))
    snapshot = actions.add_parser("snapshot", help=_("snapshot every index of the prefix into the snapshot repository"))
    snapshot.add_argument("--name", help=_("snapshot name (default: <index_prefix>-<UTC time>)"))
    actions.add_parser("snapshots", help=_("list the snapshots in the snapshot repository"))
    restore = actions.add_parser("restore", help=_("restore the prefix's indices from a snapshot (never over an index)"))
    restore.add_argument("name", help=_("the snapshot (see `onionscope index snapshots`)"))
    restore.add_argument("--kind", action="append", choices=indices.KINDS, dest="kinds",
                         help=_("restore only this kind (repeatable; default: every kind in the snapshot)"))


def run(args: argparse.Namespace, settings: Any) -> int:
    client = make_client(settings)
    ensure_reachable(client, settings)
    prefix = settings.index_prefix
    templates_dir = index_templates_dir(settings.config_dir)
    if args.action == "setup":
        for kind, index in indices.ensure_indices(client, prefix, templates_dir=templates_dir,
                                                  **indices.shard_overrides(settings)).items():
            print(f"{indices.alias_name(prefix, kind)} -> {index}")
        return 0
    if args.action == "migrate":
        report = indices.migrate(client, prefix, args.kind, batch_size=args.batch_size, delete_old=args.delete_old,
                                 templates_dir=templates_dir, **indices.shard_overrides(settings))
        print(f"{report.alias}: {report.source_index} -> {report.target_index}; "
              + _("{before} documents before, {copied} copied, {after} after, {seconds}s",
                  before=report.source_docs, copied=report.copied_docs, after=report.target_docs,
                  seconds=f"{report.seconds:.1f}"))
        print(_("{index} deleted", index=report.source_index) if report.old_index_deleted
              else _("{index} kept read-only; delete it when satisfied", index=report.source_index))
        return 0
    if args.action == "sites":
        if not 0 < args.threshold <= 1:
            raise UserError(_("--threshold must be above 0 and at most 1"))
        found = index_sites(client, prefix, threshold=args.threshold)
        if args.json:
            print(json.dumps({"onions": found.onions, "site_types": found.site_types, "groups": found.groups},
                             indent=2, sort_keys=True))
        else:
            print(format_sites_report(found))
        return 0
    if args.action in ("snapshot", "snapshots", "restore"):
        return _snapshots(args, client, prefix, settings.snapshot_repository)
    if args.action == "replay-spool":
        spool_dir = args.spool_dir or Path(settings.var_dir) / "spool"
        report = replay_spool(client, spool_dir, prefix, max_retries=settings.bulk_max_retries,
                              backoff_seconds=settings.bulk_backoff_seconds)
        print(_("{files} spool files, {records} records: {replayed} indexed, {failing} still failing",
                files=report.files, records=report.records, replayed=report.replayed, failing=report.still_failing)
              + ("; " + _("{count} files skipped (a crawl is still writing them)", count=report.busy_files)
                 if report.busy_files else ""))
        return 0 if report.still_failing == 0 else 1
    needs_migration = False
    for row in indices.index_status(client, prefix, templates_dir=templates_dir):
        if row.index is None:
            print(f"{row.alias}: " + _("missing (run `onionscope index setup`)"))
            continue
        note = ""
        if row.needs_migration:
            needs_migration = True
            note = "  " + _("schema {schema}, template {template}: run `onionscope index migrate {kind}`",
                            schema=row.index_schema_version, template=row.template_schema_version, kind=row.kind)
        print(f"{row.alias} -> {row.index}: " + _("{count} documents", count=row.docs) + note)
    return 1 if needs_migration else 0


def format_sites_report(report: SitesReport) -> str:
    """The step's findings as lines: site types counted, then each group with its label and members."""
    lines = [_("{count} onions: {types}", count=report.onions,
               types=", ".join(f"{count} {name}" for name, count in sorted(report.site_types.items())) or _("none"))]
    for group in report.groups:
        lines.append(f"  {group['label']} ({group['similarity']}): {', '.join(group['members'])}")
        lines.extend(f"    {reason}" for reason in group["reasons"][:6])
    if not report.groups:
        lines.append("  " + _("no mirror group"))
    return "\n".join(lines)

def _snapshots(args: argparse.Namespace, client: Any, prefix: str, repository: str) -> int:
    if args.action == "snapshot":
        made = snapshots.create_snapshot(client, prefix, repository, args.name)
        print(_("snapshot {name} in repository {repository}: {indices} indices, {done}/{total} shards, {state}, "
                "{seconds}s", name=made.name, repository=made.repository, indices=len(made.indices),
                done=made.shards_successful, total=made.shards_total, state=made.state,
                seconds=f"{made.seconds:.1f}"))
        return 0
    if args.action == "snapshots":
        for info in snapshots.list_snapshots(client, repository):
            print(f"{info.name}  {info.state}  {info.start_time}  " + _("{count} indices", count=len(info.indices)))
        return 0
    restored = snapshots.restore_snapshot(client, prefix, repository, args.name,
                                          tuple(args.kinds) if args.kinds else None)
    print(_("restored {indices} from {name}: {done}/{total} shards, {seconds}s", indices=", ".join(restored.indices),
            name=restored.name, done=restored.shards_successful, total=restored.shards_total,
            seconds=f"{restored.seconds:.1f}"))
    for alias in restored.aliases_kept:
        print(_("note: alias {alias} already points at another index and stays there; the restored index is beside "
                "it (move the alias with the _aliases API if you want it back)", alias=alias))
    return 0
