"""Things that look like identifiers and are not: wallet strings with a broken checksum, a broken PGP block.

Public API:

* :data:`DECOY_KINDS` -- the (coin, kind) of each decoy;
* :func:`corrupt` ``(rand, wallet) -> Decoy`` -- one character changed, same shape;
* :func:`broken_pgp_block` ``(key) -> str`` -- the armor with a base64 character changed.

Pure functions.
"""

from __future__ import annotations

import random

from harness.demo import wallet_encoders
from harness.demo.openpgp import DemoPgpKey
from harness.demo.world.entities import Decoy, Wallet


def corrupt(rand: random.Random, wallet: Wallet) -> Decoy:
    """Change one character so the checksum fails but the shape stays plausible."""
    address = wallet.address
    if wallet.coin == "ethereum":
        letters = [index for index, char in enumerate(address) if index > 1 and char.isalpha()]
        while True:
            index = rand.choice(letters)
            text = address[:index] + address[index].swapcase() + address[index + 1 :]
            body = text[2:]
            if body != body.lower() and body != body.upper():
                break
    else:
        if wallet.coin == "bitcoin-cash" or address.lower().startswith(("bc1", "ltc1", "tb1")):
            alphabet = wallet_encoders.BECH32_ALPHABET
        else:
            alphabet = wallet_encoders.BASE58_ALPHABET
        start = address.index(":") + 1 if ":" in address else (address.index("1") + 1 if address[:3] in ("bc1", "ltc") else 0)
        index = rand.randrange(max(start, 4), len(address) - 1)
        replacement = rand.choice([char for char in alphabet if char != address[index]])
        text = address[:index] + replacement + address[index + 1 :]
    return Decoy(text=text, looks_like=wallet.coin, address_type=wallet.address_type, corrupted_from=address)


DECOY_KINDS = (
    ("bitcoin", "p2pkh"), ("bitcoin", "p2wpkh"), ("monero", "standard"), ("ethereum", "eoa"),
    ("litecoin", "p2pkh"), ("tron", "p2pkh"), ("bitcoin-cash", "cashaddr-p2pkh"),
)


def broken_pgp_block(key: DemoPgpKey) -> str:
    """The key's armor with one base64 character changed, so its CRC24 fails."""
    lines = key.armored.split("\n")
    body_line = lines[2]
    swapped = "B" if body_line[10] != "B" else "C"
    lines[2] = body_line[:10] + swapped + body_line[11:]
    return "\n".join(lines)
