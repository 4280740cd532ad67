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


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("setup", help="install templates and aliases (safe to repeat)")
    migrate = actions.add_parser("migrate", help="copy one kind into a new versioned index and move its alias")
    migrate.add_argument("kind", choices=indices.KINDS)
    migrate.add_argument("--delete-old", action="store_true", help="delete the previous index after the move")
    migrate.add_argument("--batch-size", type=int, default=indices.COPY_BATCH_SIZE, help="documents per copy batch")
    replay = actions.add_parser("replay-spool", help="index what the bulk pipeline could not, from var/spool")
    replay.add_argument("--spool-dir", type=Path, help="spool folder (default: <var_dir>/spool)")
    actions.add_parser("status", help="aliases, indices, document counts, schema versions")
    sites = actions.add_parser("sites", help="site type of every onion, and groups of mirrors and phishing clones "
                                             "(run after a crawl; `onionscope crawl` runs it when it ends)")
    sites.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                       help=f"content likeness (0-1) that makes two onions near-duplicates (default {DEFAULT_THRESHOLD})")
    sites.add_argument("--json", action="store_true", help="print the groups as JSON")
    snapshot = actions.add_parser("snapshot", help="snapshot every index of the prefix into the snapshot repository")
    snapshot.add_argument("--name", help="snapshot name (default: <index_prefix>-<UTC time>)")
    actions.add_parser("snapshots", help="list the snapshots in the snapshot repository")
    restore = actions.add_parser("restore", help="restore the prefix's indices from a snapshot (never over an index)")
    restore.add_argument("name", help="the snapshot (see `onionscope index snapshots`)")
    restore.add_argument("--kind", action="append", choices=indices.KINDS, dest="kinds",
                         help="restore only this kind (repeatable; default: every kind in the snapshot)")


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
              f"{report.source_docs} documents before, {report.copied_docs} copied, {report.target_docs} after, "
              f"{report.seconds:.1f}s")
        print(f"{report.source_index} deleted" if report.old_index_deleted
              else f"{report.source_index} kept read-only; delete it when satisfied")
        return 0
    if args.action == "sites":
        if not 0 < args.threshold <= 1:
            raise UserError("--threshold must be above 0 and at most 1")
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
        print(f"{report.files} spool files, {report.records} records: {report.replayed} indexed, "
              f"{report.still_failing} still failing"
              + (f"; {report.busy_files} files skipped (a crawl is still writing them)" if report.busy_files else ""))
        return 0 if report.still_failing == 0 else 1
    needs_migration = False
    for row in indices.index_status(client, prefix, templates_dir=templates_dir):
        if row.index is None:
            print(f"{row.alias}: missing (run `onionscope index setup`)")
            continue
        note = ""
        if row.needs_migration:
            needs_migration = True
            note = f"  schema {row.index_schema_version}, template {row.template_schema_version}: " \
                   f"run `onionscope index migrate {row.kind}`"
        print(f"{row.alias} -> {row.index}: {row.docs} documents{note}")
    return 1 if needs_migration else 0


def format_sites_report(report: SitesReport) -> str:
    """The step's findings as lines: site types counted, then each group with its label and members."""
    lines = [f"{report.onions} onions: " + (", ".join(f"{count} {name}" for name, count in
                                                    sorted(report.site_types.items())) or "none")]
    for group in report.groups:
        lines.append(f"  {group['label']} ({group['similarity']}): {', '.join(group['members'])}")
        lines.extend(f"    {reason}" for reason in group["reasons"][:6])
    if not report.groups:
        lines.append("  no mirror group")
    return "\n".join(lines)

def _snapshots(args: argparse.Namespace, client: Any, prefix: str, repository: str) -> int:
    if args.action == "snapshot":
        made = snapshots.create_snapshot(client, prefix, repository, args.name)
        print(f"snapshot {made.name} in repository {made.repository}: {len(made.indices)} indices, "
              f"{made.shards_successful}/{made.shards_total} shards, {made.state}, {made.seconds:.1f}s")
        return 0
    if args.action == "snapshots":
        for info in snapshots.list_snapshots(client, repository):
            print(f"{info.name}  {info.state}  {info.start_time}  {len(info.indices)} indices")
        return 0
    restored = snapshots.restore_snapshot(client, prefix, repository, args.name,
                                          tuple(args.kinds) if args.kinds else None)
    print(f"restored {', '.join(restored.indices)} from {restored.name}: "
          f"{restored.shards_successful}/{restored.shards_total} shards, {restored.seconds:.1f}s")
    for alias in restored.aliases_kept:
        print(f"note: alias {alias} already points at another index and stays there; "
              f"the restored index is beside it (move the alias with the _aliases API if you want it back)")
    return 0
