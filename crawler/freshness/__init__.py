"""Freshness and change on the crawl side: liveness history and back-off, incremental recrawl, completeness.

Modules:

* :mod:`crawler.freshness.liveness` -- fetch attempts, a run's check of a host, the back-off (pure);
* :mod:`crawler.freshness.recrawl` -- which stored pages are due, and conditional-request validators (pure);
* :mod:`crawler.freshness.observations` -- what one run saw of each host (bounded);
* :mod:`crawler.freshness.completeness` -- when a run crawled a host completely (pure);
* :mod:`crawler.freshness.context` -- the spider's ``freshness``: what it was told, and what it saw;
* :mod:`crawler.freshness.instants` -- ISO-8601 UTC instants.

The pipelines side (loading what is stored, change records, removals, the
liveness history) is :mod:`pipelines.freshness`.
"""
