"""Sphinx configuration: the README as the start page (myst-parser) and an API reference of
the ``mlvp_assets`` package generated from its docstrings at build time (autodoc, recursive
autosummary). ``make docs`` builds it with warnings as errors."""

import importlib.util
import sys
import warnings
from pathlib import Path

import pydantic

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS / "_ext")]

# dagster-mlflow 0.29 calls one of its own beta functions at import time; the warning is about
# dagster-mlflow, not this project, and would print once per build (it is not a Sphinx warning).
warnings.filterwarnings("ignore", message="Function `_create_mlflow_run_hook` is currently in beta")

_PYDANTIC_NAMES = frozenset(dir(pydantic.BaseModel))

project = "mlvp_assets"
author = "mlvp_assets contributors"
copyright = "mlvp_assets contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "dagster_definitions",  # _ext/: the assets, checks, sensors, schedules and jobs autodoc skips
    "repository_links",  # _ext/: the README's repository-relative links, resolved
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# One page per module under _autosummary/ (git-ignored), regenerated on every build.
autosummary_generate = True
autodoc_member_order = "bysource"
add_module_names = False  # the page title names the module already
autodoc_typehints = "description"  # signatures stay short; the types go under Parameters
# The docstrings are prose in reST (no Google or NumPy sections), so no napoleon.

# The README's in-page links (#the-ui) resolve as on GitHub.
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = "mlvp_assets"
html_theme_options = {
    "description": "Airbnb listings to Delta tables, an MLflow price model and drift monitoring",
    # alabaster's 940 px cut the README's tables and commands and the dotted module names
    "page_width": "1240px",
    "sidebar_width": "300px",
}


def skip_pydantic_internals(app, what, name, obj, skip, options):
    """Dagster's Config and ConfigurableResource classes are pydantic models, and pydantic puts
    ``model_config`` (and sometimes ``model_post_init``) on every subclass; they are not the
    project's API, and their pydantic docstrings are Markdown that reST garbles."""
    if what == "class" and name in _PYDANTIC_NAMES:
        return True
    return None


def drop_pages_of_removed_modules(app):
    """The page of a module that was since removed or renamed would stay in _autosummary/ and fail
    to import (a warning, so a failed build); drop it before autosummary writes the pages."""
    for page in (DOCS / "_autosummary").glob("*.rst"):
        try:
            exists = importlib.util.find_spec(page.stem) is not None
        except ImportError:
            exists = False
        if not exists:
            page.unlink()


def setup(app):
    app.connect("builder-inited", drop_pages_of_removed_modules, priority=400)  # autosummary's is 500
    app.connect("autodoc-skip-member", skip_pydantic_internals)
