"""Files avs ships inside its package: Jinja templates, run DTDs, topic files, presets.

The repository keeps ``templates/`` and ``topics/`` at its top level; the build maps them
into the package as ``avs.templates`` and ``avs.topics`` (pyproject.toml), so an editable
install, a wheel and a source checkout all find them here, through importlib.resources.
This is the one place that builds Jinja environments.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from avs.errors import AvsError

if TYPE_CHECKING:  # jinja2 is imported only when something is rendered
    import jinja2

__all__ = ["Kind", "get_template", "jinja_env", "resource_dir", "resource_path"]

Kind = Literal["templates", "dtd", "topics", "configs"]
_PACKAGES: dict[str, str] = {
    "templates": "avs.templates",
    "dtd": "avs.templates.dtd",
    "topics": "avs.topics",
    "configs": "avs.configs",
}


def resource_dir(kind: Kind) -> Path:
    """The directory of the shipped files of ``kind``; AvsError when the package lacks it."""
    try:
        package = importlib.import_module(_PACKAGES[kind])
    except ModuleNotFoundError:
        raise AvsError(
            f"avs's {kind} are missing from its installation ({_PACKAGES[kind]} not found); "
            "reinstall avs"
        ) from None
    # Installed from a wheel or editable, the package is one directory on disk (a data-only
    # namespace package included, where importlib.resources would give a MultiplexedPath);
    # lxml and Jinja want real paths, so a zipped install is not supported.
    return Path(next(iter(package.__path__)))


def resource_path(kind: Kind, name: str) -> Path:
    """The path of the shipped file ``name`` (e.g. ``("dtd", "avs-2019.dtd")``).

    AvsError naming the file when the installation lacks it."""
    path = resource_dir(kind) / name
    if not path.is_file():
        raise AvsError(f"avs's {kind} file {name} is missing from its installation ({path})")
    return path


def jinja_env(**options: Any) -> jinja2.Environment:
    """A Jinja environment over the shipped templates; ``options`` go to Environment
    (autoescape, undefined, finalize...): each output format chooses its own."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))), **options
    )


def get_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """``env.get_template(name)``, with a missing template an AvsError that says so."""
    import jinja2

    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound:
        raise AvsError(
            f"avs's template {name} is missing from its installation ({resource_dir('templates')})"
        ) from None
