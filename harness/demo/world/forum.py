"""Draws the demo forum: users, boards, threads and posts that mention the markets' entities.

(The forum's HTML is :mod:`harness.demo.markets.forum`.)

Public API: :func:`build_forum` ``(seed, onion_hosts, markets, data, wallets,
decoys, dead_onion_hosts, legacy_onion_hosts, malformed_pgp_block) -> ForumWorld``.
Deterministic.
"""

from __future__ import annotations

import re

from harness.demo.site_names import FORUM_NAME, MARKET_NAMES, NEBULA, OLD_BAZAAR, TUNDRA
from harness.demo.world.entities import (
    Decoy, ForumBoard, ForumPost, ForumThread, ForumUser, ForumWorld, MarketWorld, Segment,
)
from harness.demo.world.identities import WalletMaker, draw_contacts
from harness.demo.world.lexicon import DemoData
from harness.demo.world.seeding import iso_date, seeded_random
from harness.demo.world.specs import MARKET_SPECS


_BOARDS = (
    ("announcements", "Vendor announcements", "Vendors post news, keys and restocks."),
    ("reviews", "Market reviews", "Buyers review markets and vendors."),
    ("harm-reduction", "Harm reduction", "Dosing, testing kits, NPS warnings."),
    ("scams", "Scam reports", "Exit scams, fake vendors, phishing mirrors."),
    ("links", "Links directory", "Verified onion links. Check PGP-signed mirrors."),
)


def build_forum(
    seed: int, onion_hosts: dict[str, str], markets: dict[str, MarketWorld], data: DemoData,
    wallets: WalletMaker, decoys: list[Decoy], dead_onion_hosts: list[str], legacy_onion_hosts: list[str],
    malformed_pgp_block: str,
) -> ForumWorld:
    rand = seeded_random(seed, "forum")
    names = data.names
    users: list[ForumUser] = []
    taken: set[str] = set()
    while len(users) < 22:
        name = f"{rand.choice(names['forum_user_first'])}_{rand.choice(names['forum_user_second'])}{rand.randint(1, 999)}"
        if name in taken:
            continue
        taken.add(name)
        users.append(ForumUser(name=name, joined=iso_date(rand, 1200, 10), signature=""))
    # Donation signatures: a handful of coins, one written all lower-case (EVM,
    # unchecksummed) and one testnet address.
    donation_kinds = [("bitcoin", "p2wpkh"), ("litecoin", "p2wpkh"), ("ethereum", "eoa"), ("dogecoin", "p2pkh"),
                      ("bitcoin", "p2tr"), ("monero", "subaddress")]
    for user, (coin, kind) in zip(users[:6], donation_kinds):
        wallet = wallets.make(coin, kind, owner=f"forum-user:{user.name}")
        if coin == "ethereum":
            wallet.written_as = [wallet.address.lower()]
            wallet.checksummed = False
        user.wallets.append(wallet)
        user.signature = f"Donations welcome: {wallet.written_as[0]}"
    testnet_wallet = wallets.make("bitcoin", "p2wpkh", owner=f"forum-user:{users[6].name}", network="testnet")
    users[6].wallets.append(testnet_wallet)
    users[6].signature = f"Testing my node, testnet faucet: {testnet_wallet.address}"
    for user in users[7:10]:
        user.contacts = draw_contacts(rand, user.name, names)
        user.signature = f"PM me or mail {user.contacts[0]['value']}"

    # The Tundra vendor who also posts on the forum, with the same key and wallet.
    tundra_vendor = markets[TUNDRA].vendors[1]
    alias = ForumUser(
        name=tundra_vendor.name,
        joined=iso_date(rand, 900, 100),
        signature=f"Official account of {tundra_vendor.name} (Tundra). Direct deals: {tundra_vendor.wallets[0].address}",
        pgp=tundra_vendor.pgp,
        wallets=[tundra_vendor.wallets[0]],
        contacts=list(tundra_vendor.contacts),
    )
    users.append(alias)
    shared_vendor = markets[OLD_BAZAAR].vendors[0]

    def host_of(site: str) -> str:
        return onion_hosts[site]

    boards = [ForumBoard(slug, title, description) for slug, title, description in _BOARDS]
    board_by_slug = {board.slug: board for board in boards}
    thread_id = 100
    chatter = [
        "Anyone else waiting on an order this week?", "Thanks for the heads up.",
        "Can confirm, received mine yesterday.", "Use a reagent kit, always.",
        "Stay safe out there.", "Bump.", "Mods, please pin this.",
        "Prices went up again since the last exit scam.",
        "Careful with nitazenes, they are far stronger than heroin.",
        "Fentanyl test strips saved my friend, buy them.",
    ]

    def new_thread(board_slug: str, title: str, first_posts: list[tuple[ForumUser, list[Segment]]], replies: int) -> None:
        nonlocal thread_id
        thread_id += rand.randint(1, 17)
        posts = [ForumPost(author, iso_date(rand, 400, 1), body) for author, body in first_posts]
        for _ in range(replies):
            posts.append(ForumPost(rand.choice(users), iso_date(rand, 400, 1), [("text", rand.choice(chatter))]))
        # URLs stay ASCII so their canonical form is unambiguous.
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-") or "thread"
        board_by_slug[board_slug].threads.append(ForumThread(thread_id, slug, title, board_slug, posts))

    market_titles = {market: MARKET_SPECS[market].display_name for market in MARKET_NAMES}
    # Links directory: bare onion addresses in text, hrefs, dead mirrors, a legacy v2 address.
    link_lines: list[Segment] = [("text", "Verified links (updated weekly):"), ("break",)]
    for market in MARKET_NAMES:
        link_lines += [("text", f"{market_titles[market]}: {host_of(market)}"), ("break",)]
    link_lines += [("text", f"Old Bazaar mirror (down since spring): {dead_onion_hosts[0]}"), ("break",),
                   ("text", f"Ancient v2 link, dead forever: {legacy_onion_hosts[0]}"), ("break",)]
    new_thread("links", "Market links - verified onion addresses", [(users[10], link_lines)], 6)
    clickable: list[Segment] = [("text", "Clickable versions:"), ("break",)]
    for market in MARKET_NAMES:
        clickable += [("link", f"http://{host_of(market)}/", market_titles[market]), ("break",)]
    clickable += [("link", f"http://{dead_onion_hosts[1]}/", "Nebula backup mirror (offline)")]
    new_thread("links", "Clickable market list", [(users[11], clickable)], 3)
    new_thread("links", "How to spot phishing mirrors",
               [(users[12], [("text", f"Phishing clone of Tundra seen at {dead_onion_hosts[2]} - it steals your XMR. "
                                      f"The real one is {host_of(TUNDRA)}.")])], 4)

    # Vendor announcements, incl. the cross-market vendor and the Tundra alias posting keys.
    new_thread("announcements", f"{alias.name} - new PGP key and XMR address",
               [(alias, [("text", "Our key, verify before ordering:"), ("pre", alias.pgp.armored if alias.pgp else ""),
                         ("text", f"Direct deals only, pay to: {tundra_vendor.wallets[0].address}")])], 5)
    new_thread("announcements", f"{shared_vendor.name} now also on Nebula",
               [(users[13], [("text", f"Saw {shared_vendor.name} opened a shop on Nebula too, same PGP "
                                      f"({shared_vendor.pgp.fingerprint}). Legit? "),
                             ("link", markets[NEBULA].vendors[0].profile_url, "their Nebula shop")])], 7)
    for market in MARKET_NAMES:
        vendor = markets[market].vendors[3]
        new_thread("announcements", f"Restock at {vendor.name} ({market_titles[market]})",
                   [(users[14], [("text", f"{vendor.name} restocked. Contact: {vendor.contacts[0]['value']}. Shop: "),
                                 ("link", vendor.profile_url, vendor.name)])], rand.randint(2, 9))

    # Scam reports: decoy addresses (bad checksums) and a malformed PGP block.
    decoy_lines: list[Segment] = [("text", "Fake vendor collected payments at these addresses, DO NOT PAY:"), ("break",)]
    for decoy in [*decoys[:4], *decoys[6:]]:
        decoy_lines += [("text", f"{decoy.looks_like}: {decoy.text}"), ("break",)]
    new_thread("scams", "Fake vendor impersonating real ones - addresses inside", [(users[15], decoy_lines)], 8)
    new_thread("scams", "Exit scam at a closed market",
               [(users[16], [("text", f"They kept our coins. Their last deposit address was {decoys[4].text} "
                                      f"(typo'd on purpose by the mods). Also {decoys[5].text}.")])], 6)
    new_thread("scams", "Forged PGP key posted by impersonator",
               [(users[17], [("text", "This key block was posted by the impersonator, it does not even parse:"),
                             ("pre", malformed_pgp_block)])], 3)

    # Harm reduction and reviews: plain chatter, some Cyrillic, some NPS names.
    harm_titles = [
        "Nitazene warning: isotonitazene and protonitazene in fake oxy",
        "Синтетические катиноны: мефедрон и соль - дозировка",
        "Spice (MDMB-4en-PINACA) is not weed", "Reagent kits: which one for 3-MMC vs 4-CMC",
        "Fentanyl test strips - where to get", "Kratom vs opioids", "Ketamine bladder issues",
        "Alpha-PVP psychosis stories", "Safe dosing for ADB-BUTINACA? (there is none)",
    ]
    for title in harm_titles:
        new_thread("harm-reduction", title, [(rand.choice(users), [("text", title + ". " + rand.choice(chatter))])],
                   rand.randint(1, 15))
    for market in MARKET_NAMES:
        for number in range(4):
            vendor = rand.choice(markets[market].vendors)
            new_thread("reviews", f"{market_titles[market]} review #{number + 1}: {vendor.name}",
                       [(rand.choice(users), [("text", f"Ordered from {vendor.name} on {market_titles[market]}. "
                                                        + rand.choice(chatter))])], rand.randint(0, 13))
    for board in boards:
        board.threads.sort(key=lambda thread: -thread.thread_id)
    users.sort(key=lambda user: user.name.casefold())
    return ForumWorld(onion_host=host_of(FORUM_NAME), users=users, boards=boards)
