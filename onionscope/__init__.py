"""onionscope: a Tor-aware crawler and search service for darknet-market investigations.

This package is the top of the house: the ``onionscope`` command
(:mod:`onionscope.cli`, one module per subcommand in :mod:`onionscope.commands`).
Below it: the base layer :mod:`config`, then :mod:`crawler`, :mod:`pipelines`
and :mod:`search`; the development harness (:mod:`harness`) stands beside them.
"""

from config import ONIONSCOPE_VERSION as __version__

__all__ = ["__version__"]
