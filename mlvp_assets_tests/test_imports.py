"""What importing the project costs: each check runs a fresh interpreter and lists the heavy
libraries an import left in ``sys.modules``.

* Sensors and schedules run in Dagster's daemon on every tick: importing them must load no Spark,
  MLflow, hyperopt or Evidently (nor pandas or Delta).
* ``dagster dev`` and every run import :mod:`mlvp_assets.definitions`; building the definitions
  must not pay for the libraries only a step uses (MLflow and dagster-mlflow, hyperopt,
  matplotlib, Evidently: about 9 s together on two cores). The steps import them.
"""

import json
import subprocess
import sys
from collections.abc import Sequence

SPARK_AND_STEP_LIBRARIES = ("pyspark", "mlflow", "hyperopt", "evidently", "pandas", "delta")
STEP_LIBRARIES = ("mlflow", "dagster_mlflow", "hyperopt", "matplotlib", "evidently")


def loaded_by_importing(modules: Sequence[str], candidates: Sequence[str]) -> list[str]:
    """The ``candidates`` present in ``sys.modules`` after a fresh interpreter imports ``modules``."""
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + f"print(json.dumps([name for name in {tuple(candidates)!r} if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_importing_the_sensors_and_schedules_loads_no_heavy_library():
    modules = (
        "mlvp_assets.automation.sensors",
        "mlvp_assets.automation.schedules",
        "mlvp_assets.automation.alert_sensors",
        "mlvp_assets.resources.alerts",
    )
    assert loaded_by_importing(modules, SPARK_AND_STEP_LIBRARIES) == []


def test_building_the_definitions_loads_no_library_only_a_step_uses():
    assert loaded_by_importing(["mlvp_assets.definitions"], STEP_LIBRARIES) == []
