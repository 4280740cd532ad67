"""Copies of a demo market on other onions: one mirror and one phishing clone, with their ground truth.

Real markets run mirrors (the same site, the same vendors, PGP keys and wallets, on
another onion) and are copied by phishers (the same pages, but every payment wallet
swapped for the phisher's).  The demo world plants one of each:

* :data:`MIRROR_SITE` -- nebula-market's files with its onion host replaced by the mirror's;
* :data:`CLONE_SITE` -- old-bazaar's files with its onion host replaced by the clone's, and
  every wallet address the market's pages show replaced by a new address of the same coin
  and kind (made with the demo's own :mod:`harness.demo.wallet_encoders` from seeded bytes).

Nothing here calls onionscope's extractors: the wallets to swap are the generator's own
ground truth (``written_as`` spellings), replaced as bytes in the written files.

Public API: :data:`COPY_SITES`; :func:`generate_copies` (seed, ground truth, out_dir, hosts)
-> the ``copies`` ground truth: ``{"mirror": {site, onion_host, of}, "clone": {site, onion_host, of,
swapped_wallets: {old: new}}, "expected_groups": [{label, sites}]}``.  Raises UserError for a
bad host mapping.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from config.errors import UserError
from config.i18n import gettext
from harness.demo.hosts import is_v3_onion_host
from harness.demo.site_names import CLONE_SITE, COPY_SITE_NAMES, MIRROR_SITE, NEBULA, OLD_BAZAAR
from harness.demo.wallet_encoders import make_address

MIRRORED_SITE = NEBULA
CLONED_SITE = OLD_BAZAAR
COPY_SITES: tuple[str, ...] = COPY_SITE_NAMES
_PAYLOAD_SIZES = {"p2wsh": 32, "p2tr": 32, "standard": 64, "subaddress": 64, "integrated": 72}


def _new_address(seed: int, wallet: dict[str, Any]) -> str:
    kind = wallet["address_type"]
    size = _PAYLOAD_SIZES.get(kind, 20)
    payload = hashlib.shake_256(f"{seed}:clone:{wallet['address']}".encode()).digest(size + 8)[:size]
    if kind == "integrated":
        payload = hashlib.shake_256(f"{seed}:clone:{wallet['address']}".encode()).digest(80)
    return make_address(wallet["coin"], kind, payload, wallet.get("network") or "mainnet")


def _copy_site(source: Path, target: Path, replacements: list[tuple[bytes, bytes]]) -> None:
    if target.exists():
        shutil.rmtree(target)
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        for old, new in replacements:
            data = data.replace(old, new)
        destination.write_bytes(data)


def generate_copies(seed: int, truth: dict[str, Any], out_dir: Path, hosts: dict[str, str]) -> dict[str, Any]:
    """Write the mirror and the clone of the copied market under ``out_dir/sites``; return their ground truth."""
    if set(hosts) != set(COPY_SITES) or not all(is_v3_onion_host(host) for host in hosts.values()):
        raise UserError(gettext("the demo copies need a v3 onion host for exactly: {sites}", sites=", ".join(COPY_SITES)))
    mirrored_host = truth["sites"][MIRRORED_SITE]["onion_host"]
    cloned_host = truth["sites"][CLONED_SITE]["onion_host"]
    pages = set(truth["sites"][CLONED_SITE]["pages"])
    swapped: dict[str, str] = {}
    replacements: list[tuple[bytes, bytes]] = []
    for wallet in truth["wallets"]:
        if not pages & set(wallet.get("pages") or ()):
            continue
        new = _new_address(seed, wallet)
        swapped[wallet["address"]] = new
        for spelling in wallet.get("written_as") or [wallet["address"]]:
            replacements.append((spelling.encode(), new.encode()))
    sites = Path(out_dir) / "sites"
    _copy_site(sites / MIRRORED_SITE, sites / MIRROR_SITE, [(mirrored_host.encode(), hosts[MIRROR_SITE].encode())])
    # Longer spellings first, so no address is half-replaced by a shorter one inside it.
    replacements.sort(key=lambda pair: -len(pair[0]))
    _copy_site(sites / CLONED_SITE, sites / CLONE_SITE,
               [(cloned_host.encode(), hosts[CLONE_SITE].encode()), *replacements])
    return {
        "mirror": {"site": MIRROR_SITE, "onion_host": hosts[MIRROR_SITE], "of": MIRRORED_SITE},
        "clone": {"site": CLONE_SITE, "onion_host": hosts[CLONE_SITE], "of": CLONED_SITE,
                  "swapped_wallets": swapped},
        "expected_groups": [
            {"label": "mirrors", "sites": sorted([MIRRORED_SITE, MIRROR_SITE])},
            {"label": "possible-phishing-clone", "sites": sorted([CLONED_SITE, CLONE_SITE])},
        ],
    }
