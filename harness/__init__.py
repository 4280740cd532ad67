"""The development harness: everything onionscope starts on one machine for its demo and tests.

* :mod:`harness.testnet` -- the private Tor network on 127.0.0.1;
* :mod:`harness.elasticsearch_node` -- the local Elasticsearch node;
* :mod:`harness.demo` and :mod:`harness.demo_world` -- the demo market sites and
  their ground truth.

Production code (crawler/, pipelines/, search/) never imports this package; the
``onionscope`` command reaches it only for its ``testnet``, ``services`` and
``demo`` subcommands.  Importing it starts nothing.
"""
