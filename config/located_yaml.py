"""YAML read with the line of every key, for error messages that name file:line and the key.

Owns what the market-profile loader and the schedules loader share: building the
document from libyaml's node tree while noting the line of every key path
(:func:`construct`), refusing an unknown key with a did-you-mean hint
(:func:`check_keys`), refusing a document nested too deep before libyaml builds
it (:func:`check_nesting`: libyaml builds recursively on the C stack, so a file
nested thousands deep crashes the process, a segfault and not an exception) and
how a path is shown (:func:`display`).  PyYAML has no located loading of its
own, hence this module.

``located`` is any object with ``lines`` (a dict from key path to line) and
``error(key_path, message)`` returning the caller's exception; each loader keeps
its own, with its own error class.  Importing this module reads nothing.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

# No configuration file of the project nests deeper than a handful of levels.
MAX_NESTING = 64


def display(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check_nesting(path: Path, text: str, error: Callable[[str], Exception]) -> None:
    """Raise ``error(message)`` when the YAML in ``text`` nests deeper than :data:`MAX_NESTING`.

    Reads parser events, which libyaml makes with its own stack (no
    recursion), and stops at the first level too deep, so a hostile file
    costs little; a YAML error is left for the real read to report.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_NESTING:
                    line = event.start_mark.line + 1 if event.start_mark is not None else 0
                    raise error(f"{display(path)}:{line}: not valid YAML: nested more than {MAX_NESTING} levels deep")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return


def construct(loader: yaml.SafeLoader, node: yaml.Node, key_path: tuple[str, ...], located: Any) -> Any:
    """The Python value of ``node``, noting each key's line in ``located.lines``; a key given twice raises."""
    located.lines.setdefault(key_path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node, deep=True))
            child = key_path + (key,)
            located.lines[child] = key_node.start_mark.line + 1
            if key in mapping:
                raise located.error(child, "key appears twice")
            mapping[key] = construct(loader, value_node, child, located)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [construct(loader, item, key_path + (str(index),), located) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def check_keys(located: Any, key_path: tuple[str, ...], mapping: Any, allowed: Iterable[str], what: str) -> dict[str, Any]:
    """``mapping`` when it is a mapping of ``allowed`` keys only; else raises ``located.error`` (with a hint)."""
    if not isinstance(mapping, dict):
        raise located.error(key_path, f"expected a mapping ({what}), got {type(mapping).__name__}")
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            raise located.error(key_path + (key,), f"unknown key {key!r}" + (
                f" (did you mean {hint[0]!r}?)" if hint else f"; expected one of {', '.join(allowed)}"))
    return mapping
