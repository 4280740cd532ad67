"""Where each data file lives inside a config folder, and where the harness hands its tor over.

Every data file onionscope reads is found through the setting ``config_dir``
(:mod:`config.settings`), never through the project root.  Its default is
:data:`PACKAGE_DIR`, this package's own folder, where the files ship beside the
code -- so a checkout, an editable install and a plain ``pip install .`` all
find them.  A copy of the folder elsewhere, named by ``ONIONSCOPE_CONFIG_DIR``,
replaces every one of them at once.

Public API (pure path arithmetic: nothing here reads, writes or checks a file):

* :data:`PACKAGE_DIR` -- the config package's folder, the default ``config_dir``;
* :func:`default_config_file` -> ``<PACKAGE_DIR>/onionscope.yml``, the optional settings file;
* :func:`markets_dir`, :func:`substances_file`, :func:`countries_file`,
  :func:`index_templates_dir`, :func:`torrc_dir`, :func:`demo_data_dir`,
  :func:`blocklist_file` ``(config_dir=None)``
  -> the path of that data inside ``config_dir`` (``None``: :data:`PACKAGE_DIR`);
* :func:`schedules_file` ``(config_dir=None)`` -> ``<config_dir>/schedules.yml``, the
  scheduled crawl jobs (when the ``schedules_file`` setting names none);
* :func:`testnet_tor_settings_file` ``(testnet_dir)`` -> the settings file a running
  private Tor network leaves for the commands (see :func:`config.settings.load_settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_CONFIG_FILE_NAME = "onionscope.yml"
TESTNET_TOR_SETTINGS_NAME = "tor-settings.yml"


def _within(config_dir: str | os.PathLike[str] | None, *parts: str) -> Path:
    return Path(config_dir if config_dir is not None else PACKAGE_DIR).joinpath(*parts)


def default_config_file() -> Path:
    """The settings file read when neither ``--config`` nor ``ONIONSCOPE_CONFIG`` names one."""
    return PACKAGE_DIR / DEFAULT_CONFIG_FILE_NAME


def markets_dir(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/markets``: one YAML market profile per file."""
    return _within(config_dir, "markets")


def substances_file(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/substances.yml``: the substance lexicon."""
    return _within(config_dir, "substances.yml")


def countries_file(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/countries.yml``: country spellings -> ISO 3166-1 alpha-2 codes."""
    return _within(config_dir, "countries.yml")


def schedules_file(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/schedules.yml``: the scheduled crawl jobs (:mod:`crawler.schedules`)."""
    return _within(config_dir, "schedules.yml")


def index_templates_dir(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/index_templates``: one Elasticsearch mapping per document kind."""
    return _within(config_dir, "index_templates")


def torrc_dir(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/torrc``: the private Tor network's torrc templates."""
    return _within(config_dir, "torrc")


def demo_data_dir(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/demo``: names, substances and countries the demo world is drawn from."""
    return _within(config_dir, "demo")


def blocklist_file(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<config_dir>/blocklist.yml``: the blocklist when the setting ``blocklist_file`` names none."""
    return _within(config_dir, "blocklist.yml")


def testnet_tor_settings_file(testnet_dir: str | os.PathLike[str]) -> Path:
    """``<testnet_dir>/tor-settings.yml``: the first client of a ready private network, as settings."""
    return Path(testnet_dir) / TESTNET_TOR_SETTINGS_NAME


def evidence_dir(settings: "Mapping[str, Any]") -> Path:
    """The folder of the WARC evidence: the ``evidence_dir`` setting, else ``<var_dir>/evidence``.

    Derived when it is used, not when the settings are loaded, so that settings
    whose ``var_dir`` was replaced (a test's, a second checkout's) keep their
    evidence beside the rest of their runtime state.
    """
    chosen = settings["evidence_dir"]
    return Path(chosen) if chosen else Path(settings["var_dir"]) / "evidence"
