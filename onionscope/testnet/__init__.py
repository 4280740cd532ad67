"""The private Tor network on 127.0.0.1 (``onionscope testnet up|down|status``).

Modules: :mod:`~onionscope.testnet.layout` (nodes and ports),
:mod:`~onionscope.testnet.torrc` (torrc rendering from config/torrc/),
:mod:`~onionscope.testnet.authorities` (authority keys),
:mod:`~onionscope.testnet.tor_process` (start and stop by PID),
:mod:`~onionscope.testnet.readiness` (consensus, bootstrap, onion fetch probes),
:mod:`~onionscope.testnet.manifest` (the JSON manifest) and
:mod:`~onionscope.testnet.network` (:class:`TestNetwork`, the entry point).
Importing this package starts nothing.
"""
