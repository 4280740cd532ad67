"""The demo world: seeded darknet-market-like sites, their ground truth, and a server for them.

* :mod:`onionscope.demo.generator` -- :func:`generate_world`, :func:`seed_urls`,
  :func:`placeholder_onion_hosts`, :data:`SITE_NAMES`; the ground truth schema
  is documented there;
* :mod:`onionscope.demo.server` -- :class:`DemoServer` (one 127.0.0.1 port per
  site, peer log) and the ``python -m onionscope.demo.server`` entry point;
* :mod:`onionscope.demo.world` (entities), :mod:`onionscope.demo.markets`
  (one renderer per site), :mod:`onionscope.demo.openpgp`,
  :mod:`onionscope.demo.hosts`, :mod:`onionscope.demo.paths`,
  :mod:`onionscope.demo.media`.

Importing this package touches neither the network nor the disk.
"""

from __future__ import annotations
