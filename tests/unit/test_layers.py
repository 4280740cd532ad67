"""The import graph runs one way: config < crawler < pipelines < search < harness < onionscope.

Every ``import`` and ``from ... import`` of the six top-level packages is read
with :mod:`ast` -- lazy ones inside functions included, relative ones resolved
-- and each one that points from a lower layer to a higher one, or from
production code (config, crawler, pipelines, search) into the development
harness, is named with its file, line and the two layers.  bench/ and tests/
may import anything and are not read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Bottom to top.  A package may import its own layer and the ones below it.
LAYERS: tuple[str, ...] = ("config", "crawler", "pipelines", "search", "harness", "onionscope")
PRODUCTION: frozenset[str] = frozenset({"config", "crawler", "pipelines", "search"})


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    source: str
    target: str
    module: str

    def __str__(self) -> str:
        why = "production code imports the harness" if self.target == "harness" and self.source in PRODUCTION else (
            "lower layer imports a higher one")
        return f"{self.path}:{self.line}: {self.source} -> {self.target} (import {self.module}; {why})"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every import in ``tree``, at any depth."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # ``from . import x`` in pkg/mod.py is pkg; in pkg/__init__.py it is pkg itself.
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def upward_imports(root: Path, layers: tuple[str, ...] = LAYERS,
                   production: frozenset[str] = PRODUCTION) -> list[Offence]:
    """Every import under ``root``'s layer packages that breaks the layer rule."""
    rank = {name: index for index, name in enumerate(layers)}
    offences: list[Offence] = []
    for package in layers:
        for path in sorted((root / package).rglob("*.py")):
            module = _module_name(root, path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, target_module in _imported_modules(tree, module, path.name == "__init__.py"):
                target = target_module.split(".")[0]
                if target not in rank:
                    continue  # the standard library or a dependency
                upward = rank[target] > rank[package]
                into_harness = package in production and target == "harness"
                if upward or into_harness:
                    offences.append(Offence(str(path.relative_to(root)), line, package, target, target_module))
    return offences


def test_no_import_points_up_or_into_the_harness() -> None:
    offences = upward_imports(PROJECT_ROOT)
    assert not offences, "imports against the layers (bottom to top: " + " < ".join(LAYERS) + "):\n" + "\n".join(
        map(str, offences))


def test_every_layer_package_exists() -> None:
    # A renamed folder would make the check above vacuous.
    assert all((PROJECT_ROOT / package / "__init__.py").is_file() for package in LAYERS)


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_check_names_lazy_relative_and_harness_imports(tmp_path: Path) -> None:
    for package in LAYERS:
        _write(tmp_path, f"{package}/__init__.py", "")
    _write(tmp_path, "config/settings.py", "import os\nfrom config import errors\n")
    _write(tmp_path, "crawler/tor/__init__.py", "")
    _write(tmp_path, "crawler/tor/endpoints.py",
           "from config.settings import x\n\ndef manifest():\n    from harness.testnet import manifest\n")
    _write(tmp_path, "pipelines/bulk.py", "from crawler.items import Page\nfrom . import spool\n")
    _write(tmp_path, "search/api.py", "import onionscope.cli as cli\n")
    _write(tmp_path, "harness/demo.py", "from crawler.extractors import wallets\nfrom ..onionscope import cli\n")
    _write(tmp_path, "onionscope/cli.py", "import harness.demo\nfrom search import api\n")

    found = {(offence.path, offence.line, offence.source, offence.target) for offence in upward_imports(tmp_path)}

    assert found == {
        ("crawler/tor/endpoints.py", 4, "crawler", "harness"),  # lazy, inside a function
        ("search/api.py", 1, "search", "onionscope"),
        ("harness/demo.py", 2, "harness", "onionscope"),  # relative, resolved
    }
    [message] = [str(offence) for offence in upward_imports(tmp_path) if offence.source == "crawler"]
    assert message == ("crawler/tor/endpoints.py:4: crawler -> harness "
                       "(import harness.testnet; production code imports the harness)")
