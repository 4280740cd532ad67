"""YAML read with the line of every key, for error messages that name file:line and the key.

Owns what the market-profile loader and the schedules loader share: building the
document from libyaml's node tree while noting the line of every key path
(:func:`construct`), refusing an unknown key with a did-you-mean hint
(:func:`check_keys`), refusing a document nested too deep before libyaml builds
it (:func:`check_nesting`: libyaml builds recursively on the C stack, so a file
nested thousands deep crashes the process, a segfault and not an exception) and
how a path is shown (:func:`display`), and a YAML syntax error's line and
problem in the command's language (:func:`yaml_error_line`, :func:`yaml_problem`).
PyYAML has no located loading of its own, hence this module.

``located`` is any object with ``lines`` (a dict from key path to line) and
``error(key_path, message)`` returning the caller's exception; each loader keeps
its own, with its own error class.  Importing this module reads nothing.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from config.i18n import N_, _

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
                    raise error(_("{path}:{line}: not valid YAML: nested more than {depth} levels deep",
                                  path=display(path), line=line, depth=MAX_NESTING))
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
                raise located.error(child, _("key appears twice"))
            mapping[key] = construct(loader, value_node, child, located)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [construct(loader, item, key_path + (str(index),), located) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def check_keys(located: Any, key_path: tuple[str, ...], mapping: Any, allowed: Iterable[str], what: str) -> dict[str, Any]:
    """``mapping`` when it is a mapping of ``allowed`` keys only; else raises ``located.error`` (with a hint)."""
    if not isinstance(mapping, dict):
        raise located.error(key_path, _("expected a mapping ({what}), got {kind}", what=what,
                                        kind=type(mapping).__name__))
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            if hint:
                raise located.error(key_path + (key,), _("unknown key {key} (did you mean {hint}?)", key=repr(key),
                                                         hint=repr(hint[0])))
            raise located.error(key_path + (key,), _("unknown key {key}; expected one of {choices}", key=repr(key),
                                                     choices=", ".join(allowed)))
    return mapping


# PyYAML's own problem texts (yaml/scanner.py, parser.py, composer.py, constructor.py), each a pattern
# whose groups are the quoted tokens, and its message id; the tokens are shown as PyYAML wrote them.
_YAML_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message) for pattern, message in (
        (r"expected (.+), but found (.+)", N_("expected {0}, but found {1}")),
        (r"expected (.+), but got (.+)", N_("expected {0}, but got {1}")),
        (r"mapping values are not allowed here", N_("a key's value is not allowed here")),
        (r"found character (.+) that cannot start any token", N_("the character {0} cannot start a YAML token")),
        (r"could not find expected (.+)", N_("{0} is missing")),
        (r"found unexpected end of stream", N_("the file ends too early")),
        (r"found unexpected (.+)", N_("unexpected {0}")),
        (r"found undefined alias (.+)", N_("the alias {0} is not defined")),
        (r"found duplicate anchor (.+)", N_("the anchor {0} is defined twice")),
        (r"found a tab character (.+)", N_("a tab character where only spaces may indent")),
        (r"found an incorrect leading (?:zero|sign|character|indentation).*", N_("a wrongly written number or indentation")),
        (r"could not determine a constructor for the tag (.+)", N_("the tag {0} is not allowed here")),
        (r"found unhashable key", N_("a key that is a list or a mapping")),
        (r"expected a single document in the stream", N_("more than one YAML document")),
    )
)


def _either(token: str) -> str:
    """PyYAML's ``',' or ']'`` with its ``or`` in the command's language."""
    match = re.fullmatch(r"('[^']*') or ('[^']*')", token)
    return _("{0} or {1}", **{"0": match.group(1), "1": match.group(2)}) if match else token


def yaml_problem(exc: BaseException) -> str:
    """The problem of a PyYAML error, in the command's language (:func:`config.i18n._`).

    The tokens PyYAML quotes (``','``, ``'<stream end>'``) are kept as it
    wrote them; a problem not in :data:`_YAML_PROBLEMS` is PyYAML's own text.
    Never raises.
    """
    problem = str(getattr(exc, "problem", None) or exc)
    for pattern, message in _YAML_PROBLEMS:
        match = pattern.fullmatch(problem)
        if match:
            return _(message, **{str(index): _either(token) for index, token in enumerate(match.groups())})
    return problem


def yaml_error_line(exc: BaseException) -> int | None:
    """The 1-based line of a PyYAML error (where its problem is, else its context); None when it has none."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None
