"""harness.demo.copies: the mirror is its market on another host; the clone shows none of its market's wallets."""

from __future__ import annotations

from harness.demo.copies import generate_copies
from harness.demo.generator import generate_world, placeholder_onion_hosts
from harness.demo.hosts import derived_onion_host
from harness.demo.site_names import CLONE_SITE, COPY_SITE_NAMES, MIRROR_SITE, NEBULA, OLD_BAZAAR


def test_mirror_and_clone(tmp_path):
    hosts = placeholder_onion_hosts(3)
    truth = generate_world(3, hosts, tmp_path)
    copy_hosts = {site: derived_onion_host(3, site) for site in COPY_SITE_NAMES}
    copies = generate_copies(3, truth, tmp_path, copy_hosts)
    sites = tmp_path / "sites"
    original = {path.relative_to(sites / NEBULA): path.read_bytes() for path in (sites / NEBULA).rglob("*")
                if path.is_file()}
    for relative, data in original.items():
        assert (sites / MIRROR_SITE / relative).read_bytes() == data.replace(hosts[NEBULA].encode(),
                                                                            copy_hosts[MIRROR_SITE].encode())
    clone_text = b"".join(path.read_bytes() for path in (sites / CLONE_SITE).rglob("*") if path.is_file())
    swapped = copies["clone"]["swapped_wallets"]
    assert len(swapped) >= 5 and hosts[OLD_BAZAAR].encode() not in clone_text
    for old, new in swapped.items():
        assert old.encode() not in clone_text and new.encode() in clone_text
    assert {tuple(group["sites"]) for group in copies["expected_groups"]} == {
        (NEBULA, MIRROR_SITE), (CLONE_SITE, OLD_BAZAAR)}
