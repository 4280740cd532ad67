"""The Elasticsearch client the search side uses: the project's one client factory.

Public API: :func:`connect` (settings) -> ``elasticsearch.Elasticsearch``
(``pipelines.es_client.make_client``).  Connecting is lazy: nothing touches
the network here.
"""

from __future__ import annotations

from typing import Any


def connect(settings: Any) -> Any:
    from pipelines.es_client import make_client

    return make_client(settings)
