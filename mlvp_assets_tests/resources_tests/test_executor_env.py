"""The executors' Python environment: only what executors import, at the driver's versions, packed
once per source and versions, and enough on its own to run the landing-file parser."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from mlvp_assets.resources import executor_env
from mlvp_assets.resources.executor_env import (
    ARCHIVE_ALIAS,
    EXECUTOR_PYTHON,
    distribution_closure,
    environment_key,
    packed_executor_environment,
)
from mlvp_assets.resources.spark import with_shipped_python_env
from mlvp_assets.settings import PYSPARK_PYTHON


def test_the_closure_is_what_executors_import_and_nothing_of_the_driver():
    closure = distribution_closure()
    assert {"pandas", "pyarrow", "numpy", "python-dateutil", "pytz", "tzdata"} <= set(closure)
    assert not {"pyspark", "dagster", "mlflow", "evidently"} & set(closure)


def test_the_key_follows_the_package_source(tmp_path, monkeypatch):
    closure = distribution_closure()
    package = tmp_path / "mlvp_assets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    monkeypatch.setattr(executor_env, "PACKAGE_DIR", package)
    before = environment_key(closure)
    assert environment_key(closure) == before
    (package / "files.py").write_text("CHANGED = True\n")
    assert environment_key(closure) != before


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    return packed_executor_environment(tmp_path_factory.mktemp("executor_env_cache"))


@pytest.mark.slow
def test_the_archive_is_built_once_and_then_taken_from_the_cache(packed):
    assert packed.built and packed.archive.exists()
    again = packed_executor_environment(packed.archive.parent)
    assert not again.built and again.archive == packed.archive
    assert packed.spark_archive == f"{packed.archive.as_uri()}#{ARCHIVE_ALIAS}"
    print(
        f"\nexecutor environment: built in {packed.seconds:.1f} s, "
        f"{packed.unpacked_bytes / 1e6:.0f} MB unpacked, {packed.size_bytes / 1e6:.0f} MB packed",
        file=sys.stderr,
    )
    assert packed.size_bytes < 150e6  # not the development virtualenv (1.8 GB)


@pytest.mark.slow
def test_the_unpacked_archive_runs_the_parser_and_xgboosts_regressor_on_its_own(packed, tmp_path):
    unpacked = tmp_path / ARCHIVE_ALIAS
    with tarfile.open(packed.archive) as archive:
        archive.extractall(unpacked, filter="fully_trusted")
    names = {str(path.relative_to(unpacked)) for path in unpacked.rglob("*")}
    assert "lib/python3.11/site-packages/mlvp_assets/bronze/landing_csv.py" in names
    assert not any(name.startswith("lib/python3.11/site-packages/pyspark") for name in names)
    # Run as an executor would: from the folder the archive is unpacked in, without the checkout.
    # XGBoost's Spark prediction UDF builds an XGBRegressor on the executor, which needs
    # scikit-learn: the cluster's training_job failed with "sklearn needs to be installed" without it.
    script = (
        "import sys, mlvp_assets, pandas, numpy, mlvp_assets.bronze.landing_csv; "
        "from xgboost.sklearn import XGBRegressor; "
        "model = XGBRegressor(n_estimators=2).fit(numpy.arange(20.0).reshape(10, 2), numpy.arange(10.0)); "
        "print(sys.executable); print(mlvp_assets.__file__); print(pandas.__version__); "
        "print(len(model.predict(numpy.zeros((3, 2)))))"
    )
    done = subprocess.run(
        [EXECUTOR_PYTHON, "-c", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    executable, package, pandas_version, predictions = done.stdout.split()
    assert predictions == "3"
    assert Path(executable) == unpacked / "bin" / "python"
    assert Path(package).is_relative_to(unpacked)
    import pandas

    assert pandas_version == pandas.__version__


@pytest.mark.slow
def test_a_cluster_session_ships_the_archive_and_runs_its_python(packed, monkeypatch):
    monkeypatch.setenv("MLVP_EXECUTOR_ENV_CACHE", str(packed.archive.parent))
    monkeypatch.setenv(PYSPARK_PYTHON.name, "/usr/bin/python3")
    config = with_shipped_python_env({"spark.master": "spark://h:7077", "spark.archives": "file:///x.zip#x"})
    kept, shipped = config["spark.archives"].split(",")
    assert kept == "file:///x.zip#x"
    archive, alias = shipped.split("#")
    assert alias == ARCHIVE_ALIAS and Path(archive.removeprefix("file://")).parent == packed.archive.parent
    assert os.environ[PYSPARK_PYTHON.name] == EXECUTOR_PYTHON
