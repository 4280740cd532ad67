"""The private Tor network on 127.0.0.1 (``onionscope testnet up|down|status``).

Modules: :mod:`~harness.testnet.layout` (nodes and ports),
:mod:`~harness.testnet.torrc` (torrc rendering from config/torrc/),
:mod:`~harness.testnet.authorities` (authority keys),
:mod:`~harness.testnet.tor_process` (start and stop by PID),
:mod:`~harness.testnet.readiness` (consensus, bootstrap, onion fetch probes),
:mod:`~harness.testnet.manifest` (the JSON manifest) and
:mod:`~harness.testnet.network` (:class:`TestNetwork`, the entry point).
Importing this package starts nothing.
"""
