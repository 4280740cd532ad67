"""Puts the demo world together from the seed: markets, the vendors they share, decoys and the forum.

Public API: :func:`build_world` ``(seed, onion_hosts, data=None) -> World`` --
deterministic: the same arguments give equal worlds.  Reads the data files
(:func:`~harness.demo.world.lexicon.load_demo_data`) unless ``data`` is given.
"""

from __future__ import annotations

from harness.demo.hosts import derived_onion_host
from harness.demo.site_names import FORUM_NAME, MARKET_NAMES, NEBULA, OLD_BAZAAR, TUNDRA
from harness.demo.world.decoys import DECOY_KINDS, broken_pgp_block, corrupt
from harness.demo.world.entities import MarketWorld, World
from harness.demo.world.forum import build_forum
from harness.demo.world.identities import WalletMaker, draw_contacts, draw_handle, pgp_key_for
from harness.demo.world.lexicon import DemoData, load_demo_data
from harness.demo.world.markets import build_market, make_vendor
from harness.demo.world.seeding import seeded_random
from harness.demo.world.specs import MARKET_SPECS


def build_world(seed: int, onion_hosts: dict[str, str], data: DemoData | None = None) -> World:
    """Draw the whole world from ``seed``; ``onion_hosts`` maps each site to its host."""
    data = data or load_demo_data()
    wallets = WalletMaker(seed)
    rand = seeded_random(seed, "world")
    taken_handles: set[str] = set()

    # The vendor who sells on Old Bazaar and on Nebula: same name, same PGP key,
    # one shared bech32 wallet (the cross-market link investigators look for).
    shared_handle = draw_handle(rand, data.names, taken_handles)
    shared_rand = seeded_random(seed, "shared-vendor")
    shared_contacts = draw_contacts(shared_rand, shared_handle, data.names)
    shared_key = pgp_key_for(seed, shared_handle, shared_contacts[0]["value"], shared_rand)
    shared_wallet = wallets.make("bitcoin", "p2wpkh", owner=f"vendor:*:{shared_handle}")
    shared_on = {
        market: make_vendor(
            seed, MARKET_SPECS[market], shared_handle, wallets, data,
            pgp=shared_key, contacts=shared_contacts, extra_wallets=[shared_wallet],
        )
        for market in (OLD_BAZAAR, NEBULA)
    }

    markets: dict[str, MarketWorld] = {}
    for market in MARKET_NAMES:
        shared = [shared_on[market]] if market in shared_on else []
        markets[market] = build_market(
            seed, MARKET_SPECS[market], onion_hosts[market], data, wallets, taken_handles, shared
        )

    decoy_rand = seeded_random(seed, "decoys")
    decoys = [
        corrupt(decoy_rand, wallets.make(coin, kind, owner="decoy-source")) for coin, kind in DECOY_KINDS
    ]
    dead_onion_hosts = [derived_onion_host(seed, f"dead-{index}") for index in range(3)]
    legacy_onion_hosts = [
        "".join(decoy_rand.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(16)) + ".onion"
    ]
    malformed_pgp_block = broken_pgp_block(markets[NEBULA].vendors[2].pgp)
    forum = build_forum(
        seed, onion_hosts, markets, data, wallets, decoys, dead_onion_hosts, legacy_onion_hosts, malformed_pgp_block
    )
    tundra_alias = markets[TUNDRA].vendors[1]
    forum_alias = next(user for user in forum.users if user.name == tundra_alias.name)
    cross_market = [
        {
            "name": shared_handle,
            "pgp_fingerprint": shared_key.fingerprint,
            "shared_wallets": [shared_wallet.address],
            "appearances": [
                {"site": market, "name": shared_on[market].name} for market in (OLD_BAZAAR, NEBULA)
            ],
        },
        {
            "name": tundra_alias.name,
            "pgp_fingerprint": tundra_alias.pgp.fingerprint,
            "shared_wallets": [tundra_alias.wallets[0].address],
            "appearances": [
                {"site": TUNDRA, "name": tundra_alias.name},
                {"site": FORUM_NAME, "name": forum_alias.name},
            ],
        },
    ]
    return World(
        seed=seed,
        onion_hosts=dict(onion_hosts),
        markets=markets,
        forum=forum,
        decoys=decoys,
        dead_onion_hosts=dead_onion_hosts,
        legacy_onion_hosts=legacy_onion_hosts,
        malformed_pgp_block=malformed_pgp_block,
        cross_market=cross_market,
        data=data,
    )
