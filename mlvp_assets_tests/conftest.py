"""Shared fixtures: one Spark session with Delta for the whole test session, a temporary
storage root per test, and the ``test`` environment's resources pointed at it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
REAL_LISTINGS = SHARED_DATA / "sf-airbnb-clean.parquet"
DAY_1 = dt.date(2026, 1, 1)


@pytest.fixture(scope="session")
def spark():
    from mlvp_assets.environments import test_spark_config
    from mlvp_assets.resources.spark import build_spark_session

    session = build_spark_session(test_spark_config())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def storage_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("MLVP_ENV", "test")
    monkeypatch.setenv("MLVP_DATA_ROOT", str(root))
    return root


@pytest.fixture
def resources(storage_root, spark):
    """The test environment's complete resource set; its Spark resource joins the session fixture."""
    from mlvp_assets.environments import resources_for

    return resources_for("test")


@pytest.fixture
def real_listings() -> Path:
    if not REAL_LISTINGS.exists():
        pytest.skip(
            f"real dataset not found at {REAL_LISTINGS} (it lives in ../shared/data beside the repository)"
        )
    return REAL_LISTINGS


def medallion_resources(root: Path) -> dict:
    """The test environment's resources on an explicit root (for module-scoped fixtures)."""
    from mlvp_assets.environments import test_spark_config
    from mlvp_assets.resources.spark import DeltaSparkResource
    from mlvp_assets.resources.storage import StorageResource

    return {
        "spark": DeltaSparkResource(spark_config=test_spark_config()),
        "storage": StorageResource(root=str(root)),
    }
