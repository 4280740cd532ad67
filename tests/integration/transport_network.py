"""Publishing the transport tests' sites on the shared private testnet.

:func:`publish_sites(testnet_network, sites)` adds one onion service per test site to the
running network (``testnet_network`` is the session's
:class:`~harness.testnet.network.TestNetwork`) and returns ``(manifest, {site name: onion
host})``.  Service names carry a fresh token so a run never re-targets a service left by an
earlier run on a kept network (``ONIONSCOPE_TEST_TESTNET_DIR``).
"""

from __future__ import annotations

import secrets
from typing import Any, Sequence

from harness.testnet.layout import OnionServiceSpec
from harness.testnet.network import TestNetwork


def publish_sites(network: TestNetwork, sites: Sequence[Any], prefix: str = "transport"
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    prefix = f"{prefix}-{secrets.token_hex(3)}"
    names = {f"{prefix}-{site.name}": site.name for site in sites}
    manifest = network.up([OnionServiceSpec(service_name, site.address) for service_name, site in zip(names, sites)],
                          timeout=180, progress=None)
    onions = {names[service["name"]]: service["onion_host"] for service in manifest["onion_services"]
              if service["name"] in names}
    return manifest, onions
