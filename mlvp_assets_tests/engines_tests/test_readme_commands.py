"""The README's "Pointing it at a real cluster" is what the engine tests do, command for command:
every command line and export the cluster test runs, rendered with the README's example values,
is in that section. Fast (nothing starts), so it runs in ``make test``."""

from __future__ import annotations

from pathlib import Path

from mlvp_assets_tests.engines_tests.history import RUNS, simulate_command
from mlvp_assets_tests.engines_tests.servers import (
    bare_worker_environment,
    master_command,
    shell_line,
    worker_command,
)
from mlvp_assets_tests.engines_tests.test_cluster_on_object_store import (
    MLFLOW_ARTIFACTS,
    dagster_command,
    mlflow_server_environment,
    prod_environment,
)
from mlvp_assets_tests.object_store import moto_server_command
from mlvp_assets_tests.server_processes import mlflow_server_command

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Pointing it at a real cluster"

# The README's example addresses (the tests pick free ports).
MASTER_PORT, MASTER_WEBUI, WORKER_WEBUI, S3_PORT, MLFLOW_PORT = 7077, 8080, 8081, 9000, 5000
MASTER_URL = f"spark://127.0.0.1:{MASTER_PORT}"
ENDPOINT = f"http://127.0.0.1:{S3_PORT}"


def section() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.index("\n### ", start + len(SECTION))
    return text[start:end]


def expected_lines() -> list[str]:
    worker_environment = bare_worker_environment("$SPARK_HOME", "$HOME", None)
    return [
        shell_line(master_command("$SPARK_HOME", MASTER_PORT, MASTER_WEBUI)),
        "env -i "
        + " ".join(f"{name}={value}" for name, value in worker_environment.items())
        + " "
        + shell_line(worker_command("$SPARK_HOME", MASTER_URL, WORKER_WEBUI, "/tmp/spark-work", 2, "4g")),
        shell_line(moto_server_command(".venv/bin/moto_server", S3_PORT)),
        *(f"export {name}={value}" for name, value in mlflow_server_environment(ENDPOINT).items()),
        shell_line(simulate_command(".venv/bin/python", "/tmp/history")),
        shell_line(
            mlflow_server_command(".venv/bin/mlflow", MLFLOW_PORT, "sqlite:///mlflow.db", MLFLOW_ARTIFACTS)
        ),
        *(
            f"export {name}={value}"
            for name, value in prod_environment(
                MASTER_URL,
                ENDPOINT,
                f"http://127.0.0.1:{MLFLOW_PORT}",
                "$PWD/data/dagster_home",
                "https://hooks.example.org/mlvp",
            ).items()
        ),
        *(shell_line(dagster_command(job, partition, ".venv/bin/dagster")) for job, partition in RUNS),
    ]


def test_the_readme_shows_every_command_the_cluster_test_runs():
    text = section()
    missing = [line for line in expected_lines() if line not in text]
    assert missing == []
