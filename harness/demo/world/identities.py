"""The identities the builders hand out: wallets, handles, PGP keys and contacts.

Public API:

* :class:`WalletMaker` -- :meth:`~WalletMaker.make` ``(coin, kind, owner, network) -> Wallet``,
  each wallet once, encoded by :mod:`harness.demo.wallet_encoders`;
* :func:`draw_handle` ``(rand, names, taken) -> str`` -- a handle not yet taken;
* :func:`pgp_key_for` ``(seed, name, email, rand) -> DemoPgpKey``;
* :func:`draw_contacts` ``(rand, handle, names) -> list[dict]`` -- email, and maybe jabber and telegram.

Pure functions of their arguments.
"""

from __future__ import annotations

import random

from harness.demo import wallet_encoders
from harness.demo.openpgp import DemoPgpKey, make_public_key
from harness.demo.world.entities import Wallet
from harness.demo.world.seeding import WORLD_EPOCH, seeded_bytes


class WalletMaker:
    """Makes each wallet once; payloads come from the seed and a running label."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.count = 0

    def make(self, coin: str, kind: str, owner: str, network: str = "mainnet") -> Wallet:
        self.count += 1
        size = {"p2wsh": 32, "p2tr": 32, "standard": 64, "subaddress": 64, "integrated": 72}.get(kind, 20)
        payload = seeded_bytes(self.seed, size, "wallet", self.count, coin, kind)
        address = wallet_encoders.make_address(coin, kind, payload, network)
        checksummed = True if coin == "ethereum" else None
        return Wallet(address, coin, network, kind, [address], checksummed, owner)


def draw_handle(rand: random.Random, names: dict[str, tuple[str, ...]], taken: set[str]) -> str:
    while True:
        handle = rand.choice(names["handle_first"]) + rand.choice(names["handle_second"])
        if rand.random() < 0.3:
            handle += str(rand.randint(2, 99))
        if handle.casefold() not in taken:
            taken.add(handle.casefold())
            return handle


def pgp_key_for(seed: int, name: str, email: str, rand: random.Random) -> DemoPgpKey:
    created = WORLD_EPOCH - rand.randint(200, 1400) * 86_400 - rand.randint(0, 86_399)
    return make_public_key(seeded_bytes(seed, 32, "pgp", name), f"{name} <{email}>", created)


def draw_contacts(rand: random.Random, handle: str, names: dict[str, tuple[str, ...]]) -> list[dict[str, str]]:
    user = handle.lower()
    contacts = [{"type": "email", "value": f"{user}@{rand.choice(names['mail_domains'])}"}]
    if rand.random() < 0.6:
        contacts.append({"type": "jabber", "value": f"{user}@{rand.choice(names['jabber_domains'])}"})
    if rand.random() < 0.5:
        contacts.append({"type": "telegram", "value": f"@{user}_shop"})
    return contacts
