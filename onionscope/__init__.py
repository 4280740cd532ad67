"""onionscope: a Tor-aware crawler and search service for darknet-market investigations.

This package holds what ties the parts together: settings, the ``onionscope``
command, the local services (Elasticsearch node), the private Tor test network
and the demo sites.  The crawl lives in :mod:`crawler`, indexing in
:mod:`pipelines`, and search in :mod:`search`.
"""

__version__ = "0.1.0"
