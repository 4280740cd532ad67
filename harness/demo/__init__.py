"""The demo world: seeded darknet-market-like sites, their ground truth, and a server for them.

* :mod:`harness.demo.generator` -- :func:`generate_world`, :func:`seed_urls`,
  :func:`placeholder_onion_hosts`, :data:`SITE_NAMES`; the ground truth schema
  is documented there;
* :mod:`harness.demo.server` -- :class:`DemoServer` (one 127.0.0.1 port per
  site, peer log) and the ``python -m harness.demo.server`` entry point;
* :mod:`harness.demo.world` (entities), :mod:`harness.demo.markets`
  (one renderer per site), :mod:`harness.demo.openpgp`,
  :mod:`harness.demo.hosts`, :mod:`harness.demo.paths`,
  :mod:`harness.demo.media`.

Importing this package touches neither the network nor the disk.
"""

from __future__ import annotations
