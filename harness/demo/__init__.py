"""The demo world: seeded darknet-market-like sites, their ground truth, and a server for them.

* :mod:`harness.demo.generator` -- :func:`generate_world`, :func:`seed_urls`,
  :func:`placeholder_onion_hosts`, :data:`SITE_NAMES`; the ground truth schema
  is documented there;
* :mod:`harness.demo.server` -- :class:`DemoServer` (one 127.0.0.1 port per
  site, peer log) and the ``python -m harness.demo.server`` entry point;
* :mod:`harness.demo.world` (the entities and the builders that draw them
  from the seed, one module per concept), :mod:`harness.demo.markets`
  (one renderer per site);
* the demo's own encoders for what the ground truth records:
  :mod:`harness.demo.wallet_encoders`, :mod:`harness.demo.hosts` (onion
  hosts), :mod:`harness.demo.openpgp` (keys and armor); they never call the
  crawler's extractors, which the ground truth is there to check;
* :mod:`harness.demo.paths`, :mod:`harness.demo.media`.

Importing this package touches neither the network nor the disk.
"""

from __future__ import annotations
