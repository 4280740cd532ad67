"""The local node's operating-system user and the permissions of its folders.

Run as root, the node runs as ``es_user`` (Elasticsearch refuses root).
Folders inside the var dir get search permission for others (o+x, never
read) where the user needs to pass; folders above it are never changed: when
one of them stops the user, :func:`check_reachable` raises
:class:`~harness.elasticsearch_node.layout.NodeError` saying what to do.  The
node's own folders are its user's alone (0700, files 0600).

Public API:

* :func:`running_as_root` -> bool;
* :func:`ensure_system_user` ``(name)`` -- create it (no home, no shell) if missing;
* :func:`check_reachable` ``(var_dir, account)`` -- raises NodeError naming the
  folder that stops the user and the remedies;
* :func:`grant_traversal` ``(path, within) -> list[Path]`` -- o+x where missing, inside ``within`` only;
* :func:`make_private` ``(path, owner)`` -- strip group/other bits, chown to the node's user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
import subprocess
from pathlib import Path

from config.i18n import gettext
from harness.elasticsearch_node.layout import PRIVATE_MODE_MASK, NodeError

def running_as_root() -> bool:
    return os.geteuid() == 0


def ensure_system_user(name: str) -> None:
    """Create the system user ``name`` (no home, no shell) if it does not exist."""
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        # Another `services up` may have created it in the meantime.
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return
        raise NodeError(gettext("could not create the system user {name} for Elasticsearch: {problem}", name=repr(name),
                                problem=result.stderr.strip()))


def grant_traversal(path: Path, within: Path) -> list[Path]:
    """Give 'others' search (x, not read) permission on folders above ``path`` that lack it.

    The node runs as an unprivileged user, so it must be able to pass through
    every folder above its files.  Only folders inside ``within`` (the var
    dir, itself included) are touched; what lies above it belongs to the
    operator (see :func:`check_reachable`).  Returns what changed.
    """
    changed: list[Path] = []
    within = within.resolve()
    for directory in reversed(path.resolve().parents):
        if not directory.is_relative_to(within):
            continue
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(directory, stat.S_IMODE(mode) | stat.S_IXOTH)
            changed.append(directory)
    return changed


def _user_can_search(directory: Path, account: pwd.struct_passwd) -> bool:
    """True if ``account`` can pass through ``directory`` and every folder above it.

    Asked of the kernel as that user (``test -x``), so ACLs and group
    memberships count exactly as they will for the node.
    """
    result = subprocess.run(
        ["test", "-x", str(directory)], user=account.pw_uid, group=account.pw_gid,
        extra_groups=os.getgrouplist(account.pw_name, account.pw_gid),
        stdin=subprocess.DEVNULL, capture_output=True, check=False,
    )
    return result.returncode == 0


def check_reachable(var_dir: Path, account: pwd.struct_passwd) -> None:
    """Raise NodeError, naming the folder and the remedies, if ``account`` cannot reach ``var_dir``.

    Folders above the var dir are never chmod-ed here: widening, say, /root
    for every local user is the operator's decision, not a side effect.
    """
    var_dir = var_dir.resolve()
    if _user_can_search(var_dir.parent, account):
        return
    blocking = next(
        (directory for directory in [*reversed(var_dir.parents)] if not _user_can_search(directory, account)),
        var_dir.parent,
    )
    mode = stat.S_IMODE(blocking.stat().st_mode)
    raise NodeError(gettext(
        "the Elasticsearch user {user} cannot reach {var_dir}: it may not pass through {blocking} (mode {mode}). "
        "onionscope does not change folders outside its var dir. Either let it through (`chmod o+x {blocking}`, "
        "or `setfacl -m u:{name}:x {blocking}`), or set var_dir (ONIONSCOPE_VAR_DIR) to a folder it can reach, "
        "such as /var/lib/onionscope", user=repr(account.pw_name), var_dir=var_dir, blocking=blocking,
        mode=f"{mode:04o}", name=account.pw_name))


def make_private(path: Path, owner: pwd.struct_passwd | None) -> None:
    """Strip group and other permissions from ``path`` and everything in it; chown to ``owner`` if given.

    The node has no authentication and keeps every indexed page and token
    document in data/; no other local user may read it (or its logs).
    """
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, entry) for entry in dirs + files)]:
            with contextlib.suppress(FileNotFoundError):
                info = os.lstat(name)
                if stat.S_ISLNK(info.st_mode):
                    continue
                if owner is not None and (info.st_uid, info.st_gid) != (owner.pw_uid, owner.pw_gid):
                    os.chown(name, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
                if stat.S_IMODE(info.st_mode) & PRIVATE_MODE_MASK:
                    os.chmod(name, stat.S_IMODE(info.st_mode) & ~PRIVATE_MODE_MASK)
