"""The private Tor network on 127.0.0.1 (``onionscope testnet up|down|status``).

Modules: :mod:`~harness.testnet.layout` (nodes and ports),
:mod:`~harness.testnet.torrc` (torrc rendering from ``<config_dir>/torrc/``),
:mod:`~harness.testnet.authorities` (authority keys),
:mod:`~harness.testnet.tor_process` (start and stop by PID),
:mod:`~harness.testnet.readiness` (consensus, bootstrap, onion fetch probes),
:mod:`~harness.testnet.manifest` (the JSON manifest) and
:mod:`~harness.testnet.network` (:class:`TestNetwork`, the entry point).
A ready network hands its first client to the commands as settings
(:func:`config.settings.write_testnet_tor_settings`); nothing outside the
harness reads the manifest.  Importing this package starts nothing.
"""
