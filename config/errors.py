"""The error type every onionscope component raises for a problem a person can fix.

:class:`UserError` carries a message written for a human ("Elasticsearch at
http://127.0.0.1:9200 is not reachable (connection refused); start it with
`make services`").  The ``onionscope`` command prints it without a traceback
and exits with status 1, in the command's language (:meth:`UserError.localized`).
"""

from __future__ import annotations

from typing import Callable


class UserError(Exception):
    """A failure with a message for the person running onionscope."""

    def localized(self, translate: Callable[..., str]) -> str:
        """The message in the language of ``translate`` (a :class:`config.i18n.Translator` or ``config.i18n._``).

        Most messages are built in the command's language where they are
        raised (``config.i18n._``), so this is ``str(self)``; an error whose
        ``str()`` stays English for the API and the logs (a
        :class:`search.query.QueryError`) translates itself here.
        """
        return str(self)
