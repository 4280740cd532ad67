"""The Elasticsearch client the search side uses: the project's one client factory.

Public API: :func:`connect` (settings) -> ``elasticsearch.Elasticsearch``
(``pipelines.es_client.make_client``), with the settings' blocklist attached
(:mod:`search.blocklist`; raises ConfigError for a bad blocklist file).
Connecting is lazy: nothing touches the network here.
"""

from __future__ import annotations

from typing import Any


def connect(settings: Any) -> Any:
    from config.blocklist import BlocklistFile
    from pipelines.es_client import make_client
    from search.blocklist import attach

    return attach(make_client(settings), BlocklistFile.for_settings(settings))
