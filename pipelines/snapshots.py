"""Snapshots of an index prefix's indices to an Elasticsearch snapshot repository, and restores from them.

What onionscope keeps lives in Elasticsearch (pages, listings, vendors,
wallets, onions, run records, API token hashes, the audit log, ...): a
snapshot of the versioned indices of ``index_prefix`` (with their aliases)
is the backup.  Templates are not in it (no global state): every command
re-installs them.  The repository is a shared-filesystem one: every node
of the cluster must see its folder at the same path, listed in the nodes'
``path.repo`` (the local nodes of ``onionscope services up`` have
``<var_dir>/elasticsearch/snapshots``).  Elasticsearch's own snapshot API
does the work; this module names the indices and checks the outcome.

Public API:

* :func:`ensure_repository` (client, repository) -> bool: registers a
  shared-filesystem repository at ``<path.repo>/<repository>`` when none of
  that name exists (True when it registered one);
* :func:`create_snapshot` (client, prefix, repository, name=None) ->
  :class:`SnapshotReport`; waits until the snapshot is complete;
* :func:`list_snapshots` (client, repository) -> one :class:`SnapshotInfo` per snapshot, oldest first;
* :func:`restore_snapshot` (client, prefix, repository, name, kinds=None) ->
  :class:`RestoreReport`; never overwrites: an index that exists is refused.

Every function raises :class:`config.errors.UserError` saying what to do when
Elasticsearch refuses (no ``path.repo``, an unknown snapshot, a partial
snapshot or restore); transport errors propagate.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from config.errors import UserError
from config.i18n import _
from config.schema import KINDS, alias_name, prefix_pattern
from pipelines.indices import prefix_indices

# Snapshot names: lowercase, no spaces or commas (Elasticsearch's rules, kept simple).
_SNAPSHOT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,200}$")


@dataclass(frozen=True)
class SnapshotReport:
    repository: str
    name: str
    indices: tuple[str, ...]
    shards_total: int
    shards_successful: int
    state: str
    seconds: float


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    state: str
    start_time: str
    indices: tuple[str, ...]


@dataclass(frozen=True)
class RestoreReport:
    repository: str
    name: str
    indices: tuple[str, ...]
    shards_total: int
    shards_successful: int
    # Aliases left where they point, because another index holds them now.
    aliases_kept: tuple[str, ...]
    seconds: float


def ensure_repository(client: Elasticsearch, repository: str) -> bool:
    """Register ``repository`` as a shared-filesystem repository at ``<path.repo>/<repository>`` unless it exists.

    Returns True when it registered one.  Raises UserError when the cluster
    refuses the location (its nodes have no ``path.repo``).
    """
    try:
        client.snapshot.get_repository(name=repository)
        return False
    except NotFoundError:
        pass
    try:
        # A relative location resolves under the first path.repo folder of every node.
        client.snapshot.create_repository(name=repository, repository={"type": "fs", "settings": {"location": repository}})
    except ApiError as exc:
        raise UserError(_(
            "Elasticsearch refused the snapshot repository {repository} ({problem}); every node needs "
            "path.repo in elasticsearch.yml (the local nodes get <var_dir>/elasticsearch/snapshots at their next "
            "`onionscope services up`), or register a repository of that name yourself (_snapshot API)",
            repository=repr(repository), problem=_reason(exc)
        )) from None
    return True


def create_snapshot(client: Elasticsearch, prefix: str, repository: str, name: str | None = None) -> SnapshotReport:
    """Snapshot every versioned index of ``prefix`` (with its aliases) into ``repository``; waits for it.

    ``name`` defaults to ``<prefix>-<UTC time>``.  Cost: the first snapshot
    copies every segment; later ones only the segments that changed.
    Raises UserError for a bad name, a prefix with no index, or a snapshot
    that did not succeed on every shard.
    """
    began = time.monotonic()
    name = name or f"{prefix}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"
    if not _SNAPSHOT_NAME.match(name):
        raise UserError(_("snapshot name {name}: use lowercase letters, digits, '.', '_' and '-'", name=repr(name)))
    indices = prefix_indices(client.indices.get(index=prefix_pattern(prefix), expand_wildcards="all",
                                                allow_no_indices=True).body, prefix)
    if not indices:
        raise UserError(_("no index of prefix {prefix} to snapshot (run `onionscope index setup` first)",
                          prefix=repr(prefix)))
    ensure_repository(client, repository)
    try:
        response = client.snapshot.create(repository=repository, snapshot=name, indices=",".join(indices),
                                          include_global_state=False, wait_for_completion=True).body
    except ApiError as exc:
        raise UserError(_("snapshot {name} in {repository} failed: {problem}", name=repr(name),
                          repository=repr(repository), problem=_reason(exc))) from None
    snapshot = response["snapshot"]
    shards = snapshot.get("shards", {})
    report = SnapshotReport(repository, name, tuple(sorted(snapshot.get("indices", []))), int(shards.get("total", 0)),
                            int(shards.get("successful", 0)), str(snapshot.get("state")), time.monotonic() - began)
    if report.state != "SUCCESS" or report.shards_successful != report.shards_total:
        raise UserError(_("snapshot {name} is {state}: {successful} of {total} shards; see GET _snapshot/{repository}/"
                          "{bare_name}", name=repr(name), state=report.state, successful=report.shards_successful,
                          total=report.shards_total, repository=repository, bare_name=name))
    return report


def list_snapshots(client: Elasticsearch, repository: str) -> list[SnapshotInfo]:
    """The snapshots in ``repository``, oldest first; raises UserError when there is no such repository."""
    try:
        response = client.snapshot.get(repository=repository, snapshot="_all").body
    except NotFoundError:
        raise UserError(_("no snapshot repository {repository} (make a snapshot first)",
                          repository=repr(repository))) from None
    return [SnapshotInfo(str(entry["snapshot"]), str(entry.get("state")), str(entry.get("start_time", "")),
                         tuple(sorted(entry.get("indices", []))))
            for entry in sorted(response.get("snapshots", []), key=lambda entry: entry.get("start_time_in_millis", 0))]


def restore_snapshot(
    client: Elasticsearch, prefix: str, repository: str, name: str, kinds: tuple[str, ...] | None = None,
) -> RestoreReport:
    """Restore ``prefix``'s indices of ``kinds`` (default all) from snapshot ``name``; waits for it.

    Never overwrites: an index of the snapshot that exists in the cluster is
    refused (delete it, by name, first).  The aliases come back with their
    indices, except where the alias now points at another index (after a
    migration); those stay where they are, and the report names them.
    Raises UserError for an unknown snapshot, nothing to restore, an index
    that exists, or a restore that did not complete on every shard.
    """
    began = time.monotonic()
    try:
        snapshot = client.snapshot.get(repository=repository, snapshot=name).body["snapshots"][0]
    except NotFoundError:
        raise UserError(_("no snapshot {name} in repository {repository} (`onionscope index snapshots` lists them)",
                          name=repr(name), repository=repr(repository))) from None
    wanted = prefix_indices(snapshot.get("indices", []), prefix, kinds or KINDS)
    if not wanted:
        if kinds:
            raise UserError(_("snapshot {name} holds no index of prefix {prefix} and kinds {kinds}", name=repr(name),
                              prefix=repr(prefix), kinds=", ".join(kinds)))
        raise UserError(_("snapshot {name} holds no index of prefix {prefix}", name=repr(name), prefix=repr(prefix)))
    existing = prefix_indices(client.indices.get(index=",".join(wanted), ignore_unavailable=True,
                                                 expand_wildcards="all").body, prefix)
    if existing:
        raise UserError(_("{indices} exists; a restore never overwrites an index: delete it first (by name), or "
                          "restore into a fresh cluster", indices=", ".join(existing)))
    kept = _aliases_held_elsewhere(client, prefix, wanted)
    try:
        response = client.snapshot.restore(repository=repository, snapshot=name, indices=",".join(wanted),
                                           include_global_state=False, include_aliases=not kept,
                                           wait_for_completion=True).body
    except ApiError as exc:
        raise UserError(_("restore of {name} from {repository} failed: {problem}", name=repr(name),
                          repository=repr(repository), problem=_reason(exc))) from None
    restored = response.get("snapshot", {})
    shards = restored.get("shards", {})
    report = RestoreReport(repository, name, tuple(sorted(restored.get("indices", []))), int(shards.get("total", 0)),
                           int(shards.get("successful", 0)), tuple(kept), time.monotonic() - began)
    if report.shards_successful != report.shards_total or set(report.indices) != set(wanted):
        raise UserError(_("restore of {name}: {successful} of {total} shards, indices {indices}; see GET _cat/recovery",
                          name=repr(name), successful=report.shards_successful, total=report.shards_total,
                          indices=", ".join(report.indices)))
    return report


def _aliases_held_elsewhere(client: Elasticsearch, prefix: str, indices: list[str]) -> list[str]:
    """The aliases of ``indices``' kinds that point at some other index now."""
    held = []
    for kind in KINDS:
        alias = alias_name(prefix, kind)
        if not any(re.fullmatch(re.escape(alias) + r"-v[0-9]+", index) for index in indices):
            continue
        try:
            holders = client.indices.get_alias(name=alias).body
        except NotFoundError:
            continue
        if holders:
            held.append(alias)
    return held


def _reason(exc: ApiError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error") if isinstance(info.get("error"), dict) else {}
    return str(error.get("reason") or exc.message or exc)[:300]
