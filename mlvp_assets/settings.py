"""Every environment variable the project reads, what it does and its default: the one module
that reads the environment. Other modules name a :class:`Setting` and ask it for its value, or
pass ``dg.EnvVar(setting.name)`` to a resource so that Dagster reads a secret at run time and
never shows it in the UI. The README's table of settings is checked against :data:`ALL_SETTINGS`.

Empty counts as unset (``MLVP_ENV=`` means the default, as if it were not there), except for
numbers: ``MLVP_SHUFFLE_PARTITIONS=`` is a mistake and fails saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class SettingError(ValueError):
    """A setting is missing or malformed; the message names the variable and what it is for."""


@dataclass(frozen=True)
class Setting:
    name: str
    purpose: str
    default: str | None = None

    def value(self) -> str | None:
        """The variable's value, or the default when it is unset or empty."""
        return os.environ.get(self.name) or self.default

    def is_set(self) -> bool:
        return bool(os.environ.get(self.name))

    def is_true(self) -> bool:
        """The value as a yes/no switch: true, 1 or yes (any case) is on; false, 0 or no is off."""
        text = (self.value() or "").strip().lower()
        if text not in ("true", "1", "yes", "false", "0", "no"):
            raise SettingError(f"{self.name} must be true or false, got {text!r}: {self.purpose}")
        return text in ("true", "1", "yes")

    def export(self, value: str) -> None:
        """Set the variable for this process and its children, for a library that reads only the
        environment (PySpark's ``PYSPARK_PYTHON``, MLflow's ``MLFLOW_DFS_TMP``)."""
        os.environ[self.name] = value

    def required(self, context: str) -> str:
        """The value; fails naming the variable, what it is for and who needs it."""
        value = self.value()
        if not value:
            raise SettingError(f"{context} needs {self.name}: {self.purpose}")
        return value

    def whole_number(self, minimum: int = 1) -> int:
        """The value as a whole number of at least ``minimum``; fails naming the variable (also
        when it is set but empty)."""
        text = os.environ.get(self.name, self.default or "").strip()
        if not text.isdigit() or int(text) < minimum:
            raise SettingError(
                f"{self.name} must be a whole number >= {minimum}, got {text!r}: {self.purpose}"
            )
        return int(text)


# Which environment, and where its data lives.
ENV = Setting("MLVP_ENV", "the environment whose resources the definitions use: dev, test or prod", "dev")
DATA_ROOT = Setting(
    "MLVP_DATA_ROOT",
    "dev and test: the local storage root (landing files, Delta tables, reports, MLflow); "
    "dev defaults to ./data, test needs it set (tests use a temporary folder)",
)
STORAGE_ROOT = Setting(
    "MLVP_STORAGE_ROOT", "prod: the storage root, s3a://bucket/prefix on an object store or a shared path"
)

# Spark.
SPARK_MASTER = Setting("MLVP_SPARK_MASTER", "prod: a Spark standalone master, e.g. spark://host:7077")
SPARK_REMOTE = Setting("MLVP_SPARK_REMOTE", "prod: a Spark Connect server instead, e.g. sc://host:15002")
SHUFFLE_PARTITIONS = Setting("MLVP_SHUFFLE_PARTITIONS", "prod: spark.sql.shuffle.partitions", "200")
MAVEN_REPOSITORIES = Setting(
    "MLVP_MAVEN_REPOSITORIES", "extra Maven repositories Spark fetches the Delta JARs from (a mirror)"
)
IVY_DIR = Setting("MLVP_IVY_DIR", "where Spark caches the JARs it fetches (spark.jars.ivy)")
SHIP_PYTHON_ENV = Setting(
    "MLVP_SHIP_PYTHON_ENV",
    "prod with a classic master: pack the executors' Python environment (the project with pandas, "
    "pyarrow, numpy, xgboost-cpu and scikit-learn at the driver's versions) and ship it through "
    "spark.archives; false when the cluster image already has them (executors then run PYSPARK_PYTHON)",
    "true",
)
EXECUTOR_ENV_CACHE = Setting(
    "MLVP_EXECUTOR_ENV_CACHE",
    "where packed executor environments are kept between runs (one per project source and versions); "
    "unset: ~/.cache/mlvp_assets/executor-env",
)
PYSPARK_PYTHON = Setting(
    "PYSPARK_PYTHON",
    "the Python that Spark's executors run (Spark's own variable): set by the project to this "
    "interpreter for local masters and to the shipped ./environment/bin/python for clusters; "
    "with MLVP_SHIP_PYTHON_ENV=false, the cluster image's Python",
)

# Object store.
S3_ENDPOINT = Setting(
    "MLVP_S3_ENDPOINT", "an S3-compatible endpoint (http://host:port) instead of AWS; buckets by path"
)
AWS_ACCESS_KEY_ID = Setting("AWS_ACCESS_KEY_ID", "S3 access key; unset: the machine's own identity")
AWS_SECRET_ACCESS_KEY = Setting("AWS_SECRET_ACCESS_KEY", "S3 secret key; unset: the machine's own identity")
AWS_REGION = Setting(
    "AWS_REGION", "S3 region; with MLVP_S3_ENDPOINT any name signs requests (unset: us-east-1 there)"
)

# MLflow and Dagster.
MLFLOW_TRACKING_URI = Setting(
    "MLFLOW_TRACKING_URI", "prod: the MLflow tracking server (runs and the model registry)"
)
MLFLOW_DFS_TMP = Setting(
    "MLFLOW_DFS_TMP",
    "prod: where MLflow's Spark flavour stages models that executors read and write (MLflow's own "
    "variable); unset: <storage root>/mlflow/dfs_tmp, which every executor sees",
)
DAGSTER_HOME = Setting(
    "DAGSTER_HOME", "Dagster's instance folder (run history); unset: an ephemeral instance"
)
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
DAGSTER_URL = Setting(
    "MLVP_DAGSTER_URL", "the Dagster UI's address, for links in alerts", DEFAULT_DAGSTER_URL
)

# Automation.
RETRAIN_AFTER_DRIFTED_DAYS = Setting(
    "MLVP_RETRAIN_AFTER_DRIFTED_DAYS",
    "how many consecutive days of data or model drift make the drift sensor request training_job",
    "3",
)

# Tests.
CRASH_AT = Setting(
    "MLVP_CRASH_AT",
    "tests only: a crash point of mlvp_assets/crash_points.py (bronze.written, silver.written, "
    "model.registered) at which the run kills its own process group with SIGKILL, as a crash would; "
    "never set in a real run",
)

# Alerts (prod; dev and test log alerts to <root>/alerts/alerts.jsonl).
ALERT_CHANNEL = Setting("MLVP_ALERT_CHANNEL", "prod: where alerts go: log, email or webhook", "log")
SMTP_HOST = Setting("MLVP_SMTP_HOST", "email alerts: the SMTP server")
SMTP_PORT = Setting("MLVP_SMTP_PORT", "email alerts: the SMTP port; unset: 587 (starttls), 465 (ssl) or 25")
SMTP_SECURITY = Setting("MLVP_SMTP_SECURITY", "email alerts: starttls, ssl or plain", "starttls")
SMTP_USER = Setting("MLVP_SMTP_USER", "email alerts: the SMTP login; unset: no AUTH")
SMTP_PASSWORD = Setting("MLVP_SMTP_PASSWORD", "email alerts: the SMTP password (needed with a login)")
SMTP_CA_FILE = Setting("MLVP_SMTP_CA_FILE", "email alerts: a CA bundle to verify the server with")
ALERT_EMAIL_FROM = Setting("MLVP_ALERT_EMAIL_FROM", "email alerts: the sender address")
ALERT_EMAIL_TO = Setting("MLVP_ALERT_EMAIL_TO", "email alerts: recipients, separated by commas")
ALERT_WEBHOOK_URL = Setting("MLVP_ALERT_WEBHOOK_URL", "webhook alerts: a Slack or Teams incoming webhook URL")

ALL_SETTINGS: tuple[Setting, ...] = tuple(
    value for value in dict(globals()).values() if isinstance(value, Setting)
)
