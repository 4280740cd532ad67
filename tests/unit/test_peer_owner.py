"""Finding which process owns the client end of an accepted TCP connection."""

from __future__ import annotations

import os
import socket

from harness.testnet.peer_owner import parse_proc_net_tcp, tcp_peer_owner, tcp_socket_inode

PROC_NET_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A2B4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 67890 1 0000000000000000 20 4 30 10 -1
"""


def test_parse_decodes_addresses_and_inodes():
    assert parse_proc_net_tcp(PROC_NET_TCP) == [
        (("127.0.0.1", 8080), ("0.0.0.0", 0), 12345),
        (("127.0.0.1", 41652), ("127.0.0.1", 8080), 67890),
    ]


def test_owner_of_a_live_loopback_connection_is_this_process():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            accepted, peer = server.accept()
            with accepted:
                assert tcp_socket_inode(peer, server.getsockname()) is not None
                assert tcp_peer_owner(peer, server.getsockname(), [os.getpid()]) == os.getpid()
                assert tcp_peer_owner(peer, server.getsockname()) == os.getpid()
                # A candidate list without the owner finds nobody.
                assert tcp_peer_owner(peer, server.getsockname(), [1]) is None
    assert tcp_peer_owner(("127.0.0.1", 1), ("127.0.0.1", 2)) is None
