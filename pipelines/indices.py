"""Index templates, versioned indices behind aliases, and migrations between versions.

Every document kind lives in a versioned index ``<prefix>-<kind>-v<N>`` that
clients reach only through the alias ``<prefix>-<kind>``.  The mapping of
each kind is data, in ``<config_dir>/index_templates/<kind>.json``
(:func:`config.paths.index_templates_dir`; every function takes
``templates_dir``, default the config package's folder); it is installed
as the composable index template ``<prefix>-<kind>`` matching
``<prefix>-<kind>-v*``, so any new version picks it up.

Public API:

* :data:`KINDS` -- the document kinds, and :func:`alias_name`,
  :func:`versioned_index_name` -- the naming rules (the index schema's,
  :mod:`config.schema.kinds`, imported here for the callers of this module);
* :func:`load_template` (kind) -> :class:`IndexTemplate` (raises UserError for a
  missing or malformed template file);
* :func:`ensure_indices` (client, prefix) -> ``{kind: index}``; idempotent and
  safe to run from several processes at once;
* :func:`current_index` (client, prefix, kind) -> the index behind the alias, or None;
* :func:`migrate` (client, prefix, kind) -> :class:`MigrationReport`: new
  versioned index from the current template, copy by point-in-time +
  ``search_after`` and bulk (the local node has no reindex module; fields a
  newer schema derives, such as a listing's price per gram, are filled in on
  the way), then one atomic alias swap.  The old index is write-blocked during the copy (writers
  get errors, which the bulk pipeline retries and spools, so nothing is lost)
  and kept afterwards unless ``delete_old``.  Raises UserError when the copy
  is incomplete; the alias then still points at the old index.
* :func:`index_status` (client, prefix) -> one :class:`KindStatus` per kind;
* :func:`shard_overrides` (settings) -> ``shards``/``replicas`` for the two calls above;
  :func:`replica_settings` (replicas) -> the index settings a replica count or an
  auto-expand range (``"0-1"``: none on one node, one on a cluster) stands for;
* :func:`prefix_indices` (names, prefix) -> which of ``names`` are the prefix's versioned indices;
* :func:`delete_prefix` (client, prefix) -> deletes every index and template of a prefix.

Elasticsearch transport errors propagate to the caller.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

from config import paths
from config.errors import UserError
from config.i18n import _
from config.settings import DEFAULTS
from config.schema import KINDS, alias_name, check_kind, prefix_pattern, versioned_index_name

# The templates shipped with the config package; a command passes paths.index_templates_dir(settings.config_dir).
DEFAULT_TEMPLATES_DIR = paths.index_templates_dir()
# Above Elasticsearch's built-in templates (priority 100 and below) so ours always win.
TEMPLATE_PRIORITY = 500
COPY_BATCH_SIZE = 500
POINT_IN_TIME_KEEP_ALIVE = "5m"
# Kinds ensure_indices sets up side by side (below the client's ten connections per node).
ENSURE_THREADS = 8


@dataclass(frozen=True)
class IndexTemplate:
    kind: str
    schema_version: int
    settings: dict[str, Any]
    mappings: dict[str, Any]


@dataclass(frozen=True)
class MigrationReport:
    kind: str
    alias: str
    source_index: str
    target_index: str
    source_docs: int
    copied_docs: int
    target_docs: int
    seconds: float
    old_index_deleted: bool


@dataclass(frozen=True)
class KindStatus:
    kind: str
    alias: str
    index: str | None
    docs: int | None
    index_schema_version: int | None
    template_schema_version: int

    @property
    def needs_migration(self) -> bool:
        return self.index is not None and self.index_schema_version != self.template_schema_version


def load_template(kind: str, templates_dir: Path | None = None) -> IndexTemplate:
    """Read ``<templates_dir>/<kind>.json``; raises UserError naming the file when it is wrong."""
    check_kind(kind)
    path = (templates_dir or DEFAULT_TEMPLATES_DIR) / f"{kind}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(_("{path}: index template missing; restore it from the repository", path=path)) from None
    except json.JSONDecodeError as exc:
        raise UserError(_("{path}: not valid JSON (line {line}): {problem}", path=path, line=exc.lineno,
                          problem=exc.msg)) from None
    try:
        version = int(data["schema_version"])
        settings = dict(data["settings"])
        mappings = dict(data["mappings"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(_("{path}: expected schema_version, settings and mappings ({problem})", path=path,
                          problem=exc)) from None
    return IndexTemplate(kind, version, settings, mappings)


# What a caller that has no settings (an API token, a run record) gets: the settings table's default.
DEFAULT_REPLICAS = DEFAULTS["index_replicas"].default


def replica_settings(replicas: int | str) -> dict[str, Any]:
    """The index settings for ``replicas``: a fixed count, or an auto-expand range such as ``"0-1"``.

    A range starts at its low end and lets Elasticsearch follow the data
    nodes: ``"0-1"`` keeps a single node green and gives every shard a copy
    on a second node as soon as the cluster has one.
    """
    if isinstance(replicas, str):
        return {"number_of_replicas": int(replicas.split("-")[0]), "auto_expand_replicas": replicas}
    return {"number_of_replicas": int(replicas), "auto_expand_replicas": False}


def _template_body(prefix: str, template: IndexTemplate, shards: int | None, replicas: int | str | None
                   ) -> dict[str, Any]:
    settings = dict(template.settings)
    if shards is not None:
        settings["number_of_shards"] = shards
    settings.update(replica_settings(DEFAULT_REPLICAS if replicas is None else replicas))
    if settings["auto_expand_replicas"] is False:
        del settings["auto_expand_replicas"]  # the index default; keeps the template as it was
    return {
        "index_patterns": [f"{alias_name(prefix, template.kind)}-v*"],
        "priority": TEMPLATE_PRIORITY,
        "version": template.schema_version,
        "template": {"settings": settings, "mappings": template.mappings},
        "_meta": {"managed_by": "onionscope", "kind": template.kind},
    }


def _body_digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def put_template(
    client: Elasticsearch, prefix: str, kind: str, *, templates_dir: Path | None = None,
    shards: int | None = None, replicas: int | str | None = None, installed_digest: str | None = None,
    installed_version: int | None = None,
) -> tuple[IndexTemplate, bool]:
    """Install the index template of ``kind`` unless the same one is installed; returns it and whether it was.

    Skipping an identical template saves a cluster-state update on every
    start.  A caller without settings (``shards`` and ``replicas`` None) keeps
    an installed template of the same schema version as it is, so it never
    undoes the shards and replicas a configured caller installed.
    """
    template = load_template(kind, templates_dir)
    if shards is None and replicas is None and installed_version == template.schema_version:
        return template, False
    body = _template_body(prefix, template, shards, replicas)
    digest = _body_digest(body)
    if installed_digest == digest:
        return template, False
    body["_meta"] = {**body["_meta"], "body_sha256": digest}
    client.indices.put_index_template(name=alias_name(prefix, kind), **body)
    return template, True


def _installed_templates(client: Elasticsearch, prefix: str) -> dict[str, tuple[str, int | None]]:
    """``{template name: (body digest, schema version)}`` of the installed templates of ``prefix``."""
    try:
        response = client.indices.get_index_template(name=prefix_pattern(prefix))
    except NotFoundError:
        return {}
    installed = {}
    for entry in response.body.get("index_templates", []):
        body = entry["index_template"]
        version = body.get("version")
        installed[entry["name"]] = (str((body.get("_meta") or {}).get("body_sha256", "")),
                                    int(version) if version is not None else None)
    return installed


def current_index(client: Elasticsearch, prefix: str, kind: str) -> str | None:
    """The concrete index the alias points at, or None when there is no alias."""
    try:
        response = client.indices.get_alias(name=alias_name(prefix, kind))
    except NotFoundError:
        return None
    indices = sorted(response.body)
    if len(indices) != 1:
        raise UserError(_("alias {alias} points at {count} indices ({indices}); it must point at exactly one -- "
                          "remove the extra ones with the _aliases API", alias=alias_name(prefix, kind),
                          count=len(indices), indices=", ".join(indices)))
    return indices[0]


def _existing_versions(client: Elasticsearch, prefix: str, kind: str) -> list[int]:
    pattern = re.compile(re.escape(alias_name(prefix, kind)) + r"-v([0-9]+)$")
    response = client.indices.get(index=f"{alias_name(prefix, kind)}-v*", expand_wildcards="all", allow_no_indices=True)
    return sorted(int(match.group(1)) for name in response.body if (match := pattern.match(name)))


def _concrete_index_exists(client: Elasticsearch, name: str) -> bool:
    try:
        response = client.indices.get(index=name)
    except NotFoundError:
        return False
    # Asking for an alias returns the index behind it; only a same-named key is a concrete index.
    return name in response.body


def _create_index(client: Elasticsearch, name: str) -> bool:
    """Create ``name`` (the template supplies settings and mappings); False if it already existed."""
    try:
        client.indices.create(index=name)
    except ApiError as exc:
        if exc.error == "resource_already_exists_exception":
            return False
        raise
    return True


def shard_overrides(settings: Any) -> dict[str, Any]:
    """``shards``/``replicas`` keyword arguments from settings ``index_shards``/``index_replicas`` when defined.

    The templates hold 1 shard; ``index_replicas`` defaults to ``0-1`` (no
    replica on one node, one on a cluster).  Absent settings (None, or no
    settings at all) leave what is installed as it is.
    """
    return {"shards": getattr(settings, "index_shards", None), "replicas": getattr(settings, "index_replicas", None)}


def ensure_indices(
    client: Elasticsearch, prefix: str, *, kinds: tuple[str, ...] = KINDS, templates_dir: Path | None = None,
    shards: int | None = None, replicas: int | str | None = None,
) -> dict[str, str]:
    """Install every template and make sure every alias points at a versioned index.

    Idempotent: existing aliases are left where they point (a mapping change
    reaches them only through :func:`migrate`).  When a template is installed
    with new ``replicas``, the index behind its alias gets them too (replicas
    are a dynamic setting; shards are not, they change through a migration).
    An index squatting on an alias name (auto-created by a write before setup)
    is adopted: copied into ``-v1`` and replaced by the alias.  The kinds are
    set up side by side (up to :data:`ENSURE_THREADS` at once); each is
    finished before the first error, in the order of ``kinds``, is raised.
    Returns ``{kind: concrete index}`` in the order of ``kinds``; raises what
    the client raises, and UserError for an alias on several indices.
    """
    installed = _installed_templates(client, prefix)

    def ensure(kind: str) -> str:
        digest, version = installed.get(alias_name(prefix, kind), (None, None))
        _template, changed = put_template(client, prefix, kind, templates_dir=templates_dir, shards=shards,
                                          replicas=replicas, installed_digest=digest, installed_version=version)
        alias = alias_name(prefix, kind)
        index = current_index(client, prefix, kind)
        if index is not None:
            if changed and replicas is not None:
                client.indices.put_settings(index=index, settings=replica_settings(replicas))
            return index
        if _concrete_index_exists(client, alias):
            return _adopt_squatter(client, prefix, kind)
        versions = _existing_versions(client, prefix, kind)
        # A crash between create and alias leaves an unaliased index: reuse it.
        target = versioned_index_name(prefix, kind, versions[-1] if versions else 1)
        _create_index(client, target)
        client.indices.update_aliases(actions=[{"add": {"index": target, "alias": alias}}])
        return current_index(client, prefix, kind) or target

    if len(kinds) <= 1:
        return {kind: ensure(kind) for kind in kinds}
    # The kinds touch disjoint templates, aliases and indices, and each step already tolerates another
    # process doing the same at once, so they go side by side: creating an index waits for its shard to
    # start, and one kind after the other made a fresh prefix's setup cost seconds per kind.  Every kind
    # is finished before the first error (in the order of ``kinds``) is raised.
    with ThreadPoolExecutor(max_workers=min(len(kinds), ENSURE_THREADS),
                            thread_name_prefix="ensure-indices") as pool:
        futures = [pool.submit(ensure, kind) for kind in kinds]
    return {kind: future.result() for kind, future in zip(kinds, futures)}


def _adopt_squatter(client: Elasticsearch, prefix: str, kind: str) -> str:
    alias = alias_name(prefix, kind)
    versions = _existing_versions(client, prefix, kind)
    target = versioned_index_name(prefix, kind, (versions[-1] + 1) if versions else 1)
    _create_index(client, target)
    client.indices.add_block(index=alias, block="write")
    copied = _copy_documents(client, alias, target, COPY_BATCH_SIZE)
    client.indices.refresh(index=target)
    if _count(client, target) < copied:
        raise UserError(_("adopting index {alias}: copy into {target} incomplete; nothing was changed", alias=alias,
                          target=target))
    client.indices.update_aliases(actions=[
        {"remove_index": {"index": alias}},
        {"add": {"index": target, "alias": alias}},
    ])
    return target


def _count(client: Elasticsearch, index: str) -> int:
    return int(client.count(index=index).body["count"])


def _scan_point_in_time(client: Elasticsearch, index: str, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Yield batches of hits (``_id`` and ``_source``) of ``index``, in a consistent snapshot."""
    pit_id = client.open_point_in_time(index=index, keep_alive=POINT_IN_TIME_KEEP_ALIVE).body["id"]
    try:
        search_after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": batch_size,
                "pit": {"id": pit_id, "keep_alive": POINT_IN_TIME_KEEP_ALIVE},
                "sort": [{"_shard_doc": "asc"}],
                "track_total_hits": False,
            }
            if search_after is not None:
                body["search_after"] = search_after
            response = client.search(**body).body
            pit_id = response.get("pit_id", pit_id)
            hits = response["hits"]["hits"]
            if not hits:
                return
            yield hits
            search_after = hits[-1]["sort"]
    finally:
        client.close_point_in_time(id=pit_id)


def _upgraded(kind: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the fields a newer schema derives from what it already holds.

    Listings before schema 5 have no price per gram; it comes from their title,
    price unit and price (:func:`pipelines.documents.price_per_gram_fields`).
    """
    if kind == "listings" and "price_per_gram" not in document:
        from pipelines.documents import price_per_gram_fields

        return {**document, **price_per_gram_fields(document)}
    return document


def _copy_documents(client: Elasticsearch, source: str, target: str, batch_size: int, kind: str = "") -> int:
    copied = 0
    for hits in _scan_point_in_time(client, source, batch_size):
        actions = [{"_op_type": "index", "_index": target, "_id": hit["_id"], "_source": _upgraded(kind, hit["_source"])}
                   for hit in hits]
        succeeded, errors = helpers.bulk(client, actions, raise_on_error=False, stats_only=False)
        if errors:
            first = json.dumps(errors[0])[:500]
            raise UserError(_("copying {source} into {target}: {count} documents were rejected; first: {first}",
                              source=source, target=target, count=len(errors), first=first))
        copied += succeeded
    return copied


def migrate(
    client: Elasticsearch, prefix: str, kind: str, *, templates_dir: Path | None = None,
    batch_size: int = COPY_BATCH_SIZE, delete_old: bool = False,
    shards: int | None = None, replicas: int | str | None = None,
) -> MigrationReport:
    """Move ``kind`` to a new versioned index built from the current template.

    Cost: reads and rewrites every document of the kind.  Writers to the alias
    get write-block errors until the alias moves (the bulk pipeline retries,
    then spools; replay the spool afterwards).  Raises UserError (alias left in
    place, old index writable again) when the new index holds fewer documents.
    """
    began = time.monotonic()
    alias = alias_name(prefix, kind)
    put_template(client, prefix, kind, templates_dir=templates_dir, shards=shards, replicas=replicas)
    source = current_index(client, prefix, kind)
    if source is None:
        ensure_indices(client, prefix, kinds=(kind,), templates_dir=templates_dir, shards=shards, replicas=replicas)
        source = current_index(client, prefix, kind)
        assert source is not None
    versions = _existing_versions(client, prefix, kind)
    target = versioned_index_name(prefix, kind, (versions[-1] if versions else 0) + 1)
    if not _create_index(client, target):
        raise UserError(_("index {target} already exists; delete it or migrate again", target=target))
    client.indices.add_block(index=source, block="write")
    try:
        client.indices.refresh(index=source)
        source_docs = _count(client, source)
        copied = _copy_documents(client, source, target, batch_size, kind)
        client.indices.refresh(index=target)
        target_docs = _count(client, target)
        if target_docs != source_docs:
            raise UserError(_("migration of {alias}: {source} holds {source_docs} documents but {target} only "
                              "{target_docs}; the alias still points at {source}; delete {target} and retry",
                              alias=alias, source=source, source_docs=source_docs, target=target,
                              target_docs=target_docs))
        client.indices.update_aliases(actions=[
            {"remove": {"index": source, "alias": alias}},
            {"add": {"index": target, "alias": alias}},
        ])
    except BaseException:
        _unblock_writes(client, source)
        raise
    # The old index stays read-only as a rollback point until it is deleted.
    if delete_old:
        client.indices.delete(index=source)
    return MigrationReport(
        kind, alias, source, target, source_docs, copied, target_docs, time.monotonic() - began, delete_old
    )


def _unblock_writes(client: Elasticsearch, index: str) -> None:
    client.indices.put_settings(index=index, settings={"index.blocks.write": False})


def index_status(client: Elasticsearch, prefix: str, templates_dir: Path | None = None) -> list[KindStatus]:
    """Per kind: alias, index behind it, document count and schema versions (index vs template)."""
    rows: list[KindStatus] = []
    for kind in KINDS:
        template = load_template(kind, templates_dir)
        index = current_index(client, prefix, kind)
        docs: int | None = None
        index_version: int | None = None
        if index is not None:
            docs = _count(client, index)
            mapping = client.indices.get_mapping(index=index).body[index]["mappings"]
            meta_version = (mapping.get("_meta") or {}).get("schema_version")
            index_version = int(meta_version) if meta_version is not None else None
        rows.append(KindStatus(kind, alias_name(prefix, kind), index, docs, index_version, template.schema_version))
    return rows


def prefix_indices(names: Any, prefix: str, kinds: tuple[str, ...] = KINDS, *, squatters: bool = False) -> list[str]:
    """The names among ``names`` that are ``prefix``'s versioned indices of ``kinds`` (``<prefix>-<kind>-v<N>``), sorted.

    With ``squatters``, plain indices named like an alias count too.  A
    wildcard such as ``<prefix>-*`` also matches a longer prefix's indices
    (``<prefix>-x-pages-v1``); this keeps to ours.
    """
    version = r"(-v[0-9]+)?" if squatters else r"-v[0-9]+"
    ours = re.compile("(" + "|".join(re.escape(alias_name(prefix, kind)) for kind in kinds) + ")" + version)
    return sorted(name for name in names if ours.fullmatch(name))


def delete_prefix(client: Elasticsearch, prefix: str) -> list[str]:
    """Delete every index and template of ``prefix``, naming each (wildcard deletes are refused).

    For tests and for starting over; one request for the indices and one for
    the templates.  Returns the deleted index names.
    """
    names = client.indices.get(index=prefix_pattern(prefix), expand_wildcards="all", allow_no_indices=True).body
    doomed = prefix_indices(names, prefix, squatters=True)
    if doomed:
        client.indices.delete(index=",".join(doomed))
    templates = sorted(name for name in _installed_templates(client, prefix)
                       if name in {alias_name(prefix, kind) for kind in KINDS})
    if templates:
        client.indices.delete_index_template(name=",".join(templates))
    return doomed
