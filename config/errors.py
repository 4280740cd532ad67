"""The error type every onionscope component raises for a problem a person can fix.

:class:`UserError` carries a message written for a human ("Elasticsearch at
http://127.0.0.1:9200 is not reachable (connection refused); start it with
`make services`").  The ``onionscope`` command prints it without a traceback
and exits with status 1.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure with a message for the person running onionscope."""
