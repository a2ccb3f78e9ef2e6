"""The Python environment that executors of a classic cluster run, packed and shipped by Spark.

Python code reaches the executors when Spark runs a function there: the landing-file parser that
``bronze_listings`` runs through ``mapInPandas`` (:mod:`mlvp_assets.bronze.landing_csv` and what it
imports: pandas, pyarrow, numpy, :mod:`mlvp_assets.files`), and XGBoost's Spark estimator, which
trains in a barrier task and predicts in a pandas UDF (``xgboost``, scipy, scikit-learn). On a
cluster the executors have neither the package nor those libraries, so the Spark session ships
them the way Spark's Python package management documents: a virtualenv packed with venv-pack,
passed as ``spark.archives`` with the alias ``environment``, unpacked by Spark in every
executor's working folder, and run as ``PYSPARK_PYTHON=./environment/bin/python``.

The environment is small on purpose: not the project's development virtualenv (over a gigabyte)
but a fresh one holding the project's package and the distributions the executors import, with
their dependencies, copied file by file from the driver's own installation (their RECORDs), so
executors run exactly the driver's versions and building needs no network. Built once per
project source, Python and library versions, and kept in ``MLVP_EXECUTOR_ENV_CACHE``.

venv-pack packs the Python interpreter as a link, as Spark's documentation says: every executor
host needs the driver's Python version at the same path (a cluster image built from the same base).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import logging
import os
import shutil
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlvp_assets.settings import EXECUTOR_ENV_CACHE

logger = logging.getLogger(__name__)

# What functions run on executors import; their dependencies come along. xgboost-cpu: XGBoost's
# Spark estimator trains and predicts inside executor tasks (it brings scipy); its prediction UDF
# builds an XGBRegressor, which needs scikit-learn (xgboost's own `pyspark` extra names it).
EXECUTOR_DISTRIBUTIONS = ("pandas", "pyarrow", "numpy", "xgboost-cpu", "scikit-learn")
ARCHIVE_ALIAS = "environment"
EXECUTOR_PYTHON = f"./{ARCHIVE_ALIAS}/bin/python"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # mlvp_assets/


@dataclasses.dataclass(frozen=True)
class PackedEnvironment:
    """A packed executor environment and what it cost."""

    archive: Path
    built: bool  # False when it came from the cache
    seconds: float  # building and packing; 0 from the cache
    unpacked_bytes: int  # 0 from the cache

    @property
    def spark_archive(self) -> str:
        """The ``spark.archives`` entry: the archive, unpacked as ``./environment``."""
        return f"{self.archive.as_uri()}#{ARCHIVE_ALIAS}"

    @property
    def size_bytes(self) -> int:
        return self.archive.stat().st_size


def default_cache_dir() -> Path:
    configured = EXECUTOR_ENV_CACHE.value()
    return (
        Path(configured).expanduser()
        if configured
        else Path.home() / ".cache" / "mlvp_assets" / "executor-env"
    )


def distribution_closure(
    names: tuple[str, ...] = EXECUTOR_DISTRIBUTIONS,
) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions ``names`` need at run time (no extras), by canonical name."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = list(names)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        distribution = importlib.metadata.distribution(name)
        found[name] = distribution
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return dict(sorted(found.items()))


def _package_files() -> list[Path]:
    return sorted(path for path in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in path.parts)


def environment_key(distributions: dict[str, importlib.metadata.Distribution]) -> str:
    """Changes with the Python version and platform, the shipped distributions' versions and the
    content of every module of the package (a code change needs a new archive, a version bump
    does not happen on every edit)."""
    digest = hashlib.sha256()
    digest.update(f"{sys.version}\n{sysconfig.get_platform()}\n".encode())
    for name, distribution in distributions.items():
        digest.update(f"{name}=={distribution.version}\n".encode())
    for path in _package_files():
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def packed_executor_environment(cache_dir: Path | None = None) -> PackedEnvironment:
    """The packed executor environment for this driver, from the cache or built now."""
    cache_dir = cache_dir or default_cache_dir()
    distributions = distribution_closure()
    archive = cache_dir / f"mlvp-executor-env-{environment_key(distributions)[:20]}.tar.gz"
    if archive.exists():
        return PackedEnvironment(archive, built=False, seconds=0.0, unpacked_bytes=0)
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Built beside its final name and renamed into place, so that two runs building at once
    # each finish with a complete archive and a reader never sees half of one.
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="building-") as scratch:
        prefix = Path(scratch) / "env"
        unpacked = _build_environment(prefix, distributions)
        partial = Path(scratch) / archive.name
        _pack(prefix, partial)
        os.replace(partial, archive)
    packed = PackedEnvironment(
        archive, built=True, seconds=time.perf_counter() - started, unpacked_bytes=unpacked
    )
    logger.info(
        "packed the executor environment in %.1f s: %s, %.0f MB unpacked, %.0f MB packed",
        packed.seconds,
        archive,
        unpacked / 1e6,
        packed.size_bytes / 1e6,
    )
    return packed


def _site_packages(prefix: Path) -> Path:
    return prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _build_environment(prefix: Path, distributions: dict[str, importlib.metadata.Distribution]) -> int:
    """A virtualenv at ``prefix`` on this Python with ``distributions`` and the package; its size."""
    venv.EnvBuilder(symlinks=True, with_pip=False).create(prefix)
    site_packages = _site_packages(prefix)
    for distribution in distributions.values():
        root = Path(str(distribution.locate_file("")))
        for record in distribution.files or []:
            if record.parts and record.parts[0] == "..":
                continue  # console scripts outside site-packages: executors run none
            source = root / record
            if source.is_file():
                target = site_packages / record
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    shutil.copytree(
        PACKAGE_DIR, site_packages / PACKAGE_DIR.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return sum(path.stat().st_size for path in prefix.rglob("*") if path.is_file() and not path.is_symlink())


def _pack(prefix: Path, output: Path) -> None:
    import venv_pack  # type: ignore[import-untyped]  # only a driver that ships an environment needs it

    venv_pack.pack(prefix=str(prefix), output=str(output), format="tar.gz", verbose=False)
