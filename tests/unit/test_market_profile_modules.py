"""The market profile package keeps its seams: normalisers, model, loader, registry.

Behaviour is covered by tests/unit/test_market_profiles.py; this checks who
may depend on what, so the seams do not grow back together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import crawler.extractors.market_profiles as market_profiles

PACKAGE = Path(market_profiles.__file__).resolve().parent


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_package_has_the_four_modules_and_no_other():
    assert sorted(path.stem for path in PACKAGE.glob("*.py")) == ["__init__", "loader", "model", "normalisers", "registry"]


def test_callers_public_names_come_from_the_package():
    for name in market_profiles.__all__:
        assert getattr(market_profiles, name) is not None, name
    for name in ("MarketProfiles", "MarketProfile", "NormaliseContext", "apply_normalisers", "NORMALISERS",
                 "ProfileError", "load_profile"):
        assert name in market_profiles.__all__


def test_only_the_loader_reads_yaml_and_the_normalisers_know_no_html():
    assert [module for module in ("normalisers", "model", "registry") if "yaml" in _imports(module)] == []
    assert "yaml" in _imports("loader")
    html_libraries = {"lxml", "lxml.etree", "parsel", "parsel.csstranslator", "cssselect", "cssselect.xpath"}
    assert _imports("normalisers") & html_libraries == set()


def test_imports_run_one_way_normalisers_model_loader_registry():
    order = ["normalisers", "model", "loader", "registry"]
    upward = []
    for position, module in enumerate(order):
        for later in order[position + 1:]:
            if f"crawler.extractors.market_profiles.{later}" in _imports(module):
                upward.append(f"{module} imports {later}")
    assert upward == []
    # The modules never import the package itself (whose __init__ imports them).
    assert [module for module in order if "crawler.extractors.market_profiles" in _imports(module)] == []
