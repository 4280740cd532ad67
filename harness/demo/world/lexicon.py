"""The demo world's vocabulary, read from the data files in ``config/demo/``.

Substances (names, street names, forms, price ranges), countries and regions,
and the name parts handles are drawn from.  Nothing here is random: the
builders draw from what this module reads.

Public API:

* :data:`DEMO_DATA_DIR` -- where the files live;
* :func:`load_demo_data` ``(data_dir) -> DemoData``; raises
  :class:`config.errors.UserError` naming the file when one is missing or malformed;
* the dataclasses :class:`DemoData`, :class:`Substance`, :class:`Country`.

Reads those files when called; importing it reads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.errors import UserError
from config.i18n import gettext
from config.paths import demo_data_dir

# The config package's demo data; a world built for another config_dir passes its own folder.
DEMO_DATA_DIR = demo_data_dir()


@dataclass(frozen=True)
class Substance:
    name: str
    display: str
    substance_class: str
    nps: bool
    synonyms: tuple[str, ...]
    cyrillic: tuple[str, ...]
    forms: tuple[str, ...]
    unit: str
    quantities: tuple[float, ...]
    usd_per_unit: tuple[float, float]


@dataclass(frozen=True)
class Country:
    alpha2: str
    alpha3: str
    name: str
    ru: str


@dataclass(frozen=True)
class DemoData:
    substances: tuple[Substance, ...]
    countries: dict[str, Country]
    names: dict[str, tuple[str, ...]]


def load_demo_data(data_dir: Path | None = None) -> DemoData:
    """Read ``substances.yml``, ``countries.yml`` and ``names.yml`` from a ``<config_dir>/demo`` folder.

    ``data_dir`` defaults to the config package's.

    Raises UserError naming the file when one is missing or malformed.
    """
    data_dir = data_dir if data_dir is not None else demo_data_dir()

    def read(file_name: str) -> dict[str, Any]:
        path = data_dir / file_name
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise UserError(gettext("cannot read demo data file {path}: {problem}", path=path, problem=error)) from error
        if not isinstance(loaded, dict):
            raise UserError(gettext("demo data file {path} must hold a mapping at the top level", path=path))
        return loaded

    try:
        substances = tuple(
            Substance(
                name=entry["name"],
                display=entry["display"],
                substance_class=entry["class"],
                nps=bool(entry["nps"]),
                synonyms=tuple(entry["synonyms"]),
                cyrillic=tuple(entry["cyrillic"]),
                forms=tuple(entry["forms"]),
                unit=entry["unit"],
                quantities=tuple(entry["quantities"]),
                usd_per_unit=(float(entry["usd_per_unit"][0]), float(entry["usd_per_unit"][1])),
            )
            for entry in read("substances.yml")["substances"]
        )
        country_file = read("countries.yml")
        countries = {
            entry["alpha2"]: Country(entry["alpha2"], entry["alpha3"], entry["name"], entry["ru"])
            for entry in [*country_file["countries"], *country_file["regions"]]
        }
        names = {key: tuple(values) for key, values in read("names.yml").items()}
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise UserError(gettext("demo data in {folder} is malformed ({problem}); restore config/demo/", folder=data_dir,
                                problem=repr(error))) from error
    return DemoData(substances=substances, countries=countries, names=names)
