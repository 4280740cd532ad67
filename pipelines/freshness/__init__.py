"""Freshness and change on the indexing side: what a crawl is told when it opens, and what it leaves when it ends.

Modules:

* :mod:`pipelines.freshness.changes` -- change records: what changed between stored and crawled (pure);
* :mod:`pipelines.freshness.change_tracker` -- the read-before-write step of each batch (one ``mget``);
* :mod:`pipelines.freshness.stored_state` -- what a crawl is told when it opens: stored pages' validators
  and change dates, the hosts' recent checks;
* :mod:`pipelines.freshness.liveness_history` -- the liveness history (``onion-checks``) and the onion
  entity's summary;
* :mod:`pipelines.freshness.removals` -- listings missing from a market crawled completely, marked removed;
* :mod:`pipelines.freshness.run` -- the two calls the indexing pipeline makes: :func:`~pipelines.freshness.run.open_run`
  and :func:`~pipelines.freshness.run.finish_run`.

The crawl side (policies, observations, completeness) is :mod:`crawler.freshness`.
"""
