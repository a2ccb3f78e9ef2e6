"""Sensors and schedules run in Dagster's daemon on every tick: importing them must not load
Spark, MLflow, hyperopt or Evidently (nor pandas or Delta), which take seconds to import."""

import json
import subprocess
import sys

HEAVY = ("pyspark", "mlflow", "hyperopt", "evidently", "pandas", "delta")


def test_importing_the_sensors_and_schedules_loads_no_heavy_library():
    code = (
        "import json, sys\n"
        "import mlvp_assets.automation.sensors, mlvp_assets.automation.schedules\n"
        "import mlvp_assets.automation.alert_sensors, mlvp_assets.resources.alerts\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []
