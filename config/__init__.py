"""The base layer: what every other part of onionscope stands on, and nothing more.

This package is also the folder of onionscope's data-only configuration (market
profiles, the substance lexicon, country spellings, index templates, torrc
templates, demo data), so an installed copy carries its defaults with it.

Modules:

* :mod:`config.settings` -- the one table of settings and their defaults, typed
  read-only access, validation with file and key in every error;
* :mod:`config.errors` -- :class:`~config.errors.UserError`, the error a person can fix;
* :mod:`config.processes` -- the one process helper: the identity of a process
  onionscope started (PID plus start time and command line), pidfiles, the
  start lock and the stop, shared by everything that starts one;
* :mod:`config.schema` -- the index schema: per document kind its ``_id`` rule,
  alias name, fields, query names, facets and sort tiebreaks, and the
  normalisers of PGP fingerprints, onion hosts and coins.

Nothing here imports crawler/, pipelines/, search/, harness/ or the command,
and importing it reads no file and touches no network.
"""

ONIONSCOPE_VERSION = "0.1.0"
