"""An operating-system error's reason in the command's language.

Python's ``strerror`` is English whatever the locale ("No such file or
directory"); the reasons a person meets most are said in the command's
language (:func:`config.i18n._`), any other is shown as the system wrote it.

Public API: :func:`os_reason(error)` -> the reason; never raises.
"""

from __future__ import annotations

import errno

from config.i18n import N_, _

# The operating system's reasons a person meets most, by errno; their strerror is English whatever the locale.
_OS_REASONS = {
    errno.ENOENT: N_("no such file or folder"),
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("operation not permitted"),
    errno.EISDIR: N_("it is a folder"),
    errno.ENOTDIR: N_("a part of the path is not a folder"),
    errno.ENOSPC: N_("no space left on the device"),
    errno.EROFS: N_("read-only file system"),
    errno.ECONNREFUSED: N_("connection refused"),
}


def os_reason(error: OSError) -> str:
    """Why ``error`` happened, in the command's language: the usual errnos translated, else its strerror."""
    known = _OS_REASONS.get(error.errno) if error.errno is not None else None
    return _(known) if known else str(error.strerror or error)
