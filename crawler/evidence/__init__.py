"""Evidence capture: every fetched response kept verbatim in WARC files with a hash-chained manifest.

Modules, bottom to top:

* :mod:`crawler.evidence.chain` -- the manifest of one WARC file and its running hash chain:
  reading it, extending it, and verifying a WARC file against it (pure file reading);
* :mod:`crawler.evidence.store` -- :class:`~crawler.evidence.store.EvidenceStore`, which writes
  WARC response records (gzip-compressed one by one, files rotated by size) and their manifest
  entries, and returns each record's :class:`~crawler.evidence.chain.EvidenceRef`;
* :mod:`crawler.evidence.retention` -- the protected marks (records an export or a watchlist
  touched) and the prune that applies ``evidence_keep_days``.

The crawl writes through :mod:`crawler.middlewares.evidence`; ``onionscope evidence`` verifies,
exports and prunes.  Nothing here touches the network.
"""
