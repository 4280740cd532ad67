"""The audit trail: every search, by whom, when, what, and how many results.

Public API:

* :func:`record_search` (client, prefix, ...) -- writes one document to
  ``<index_prefix>-audit``.  It names the token by id and name, never the
  token itself.  Elasticsearch errors propagate: a search that cannot be
  audited is not answered (the API turns this into a 503).
* :func:`recent_searches` (client, prefix, limit) -> list of audit documents,
  newest first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

MAX_QUERY_CHARS_KEPT = 2000


def audit_index(prefix: str) -> str:
    return f"{prefix}-audit"


def record_search(
    client: Any,
    prefix: str,
    *,
    actor_id: str,
    actor_name: str,
    role: str,
    query: str,
    kind: str,
    result_count: int,
    channel: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit document; ``channel`` is ``api``, ``ui``, ``cli`` or ``export``."""
    document = {
        "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "role": role,
        "query": query[:MAX_QUERY_CHARS_KEPT],
        "kind": kind,
        "result_count": int(result_count),
        "channel": channel,
    }
    if detail:
        document["detail"] = detail
    client.index(index=audit_index(prefix), document=document)


def recent_searches(client: Any, prefix: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest audit documents (refreshes the index first so the newest show)."""
    client.indices.refresh(index=audit_index(prefix))
    response = client.search(
        index=audit_index(prefix),
        body={"query": {"match_all": {}}, "size": limit, "sort": [{"at": {"order": "desc", "unmapped_type": "date"}}]},
    )
    return [hit["_source"] for hit in response["hits"]["hits"]]
