"""MLflow tracking and registry per environment, through dagster-mlflow's ``mlflow_tracking``.

dev and test keep everything under the storage root: a SQLite backend (runs and the model
registry) at ``<root>/mlflow/mlflow.db`` and artifacts in ``<root>/mlflow/artifacts``. prod reads
the tracking server's URI from ``MLFLOW_TRACKING_URI``; the server decides where artifacts go.
Experiment and registered model share one name that carries the environment: ``dev_airbnb_price``.

``mlflow_tracking`` is an old-style resource with process-wide side effects: when a Dagster run
initialises it, it sets MLflow's tracking URI and experiment and *starts an MLflow run* tagged
with the Dagster run id, which stays the active run for every step of that Dagster run. Assets
log into that run (it is the parent of the tuning trials). Two things it does not do are added
here, by a resource that delegates to it:

* The experiment's artifact location. ``mlflow.set_experiment`` creates a missing experiment
  under the backend's default artifact root, which for a SQLite backend is ``./mlruns`` in the
  process's working directory. The experiment is therefore created first, with its location.
* Ending the run. dagster-mlflow ends it only on an error at teardown or through its job hook;
  a run left active in a long-lived process (tests, ``materialize``) would swallow the next
  Dagster run's logging. It is ended when the resource is torn down, at the end of the run.

A tracking server that cannot be reached fails the Dagster run with
:class:`TrackingServerUnreachable`, which names the server: when the run starts (the resource
cannot be initialised) or while a step logs into the run (:func:`run_marked_failed_on_error`).
How long MLflow keeps trying first is its own ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` (7, with
backoff: minutes) and ``MLFLOW_HTTP_REQUEST_TIMEOUT`` (120 s per request).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from mlvp_assets.resources.storage import StorageResource
from mlvp_assets.settings import MLFLOW_DFS_TMP, MLFLOW_TRACKING_URI

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

# MLflow (and dagster-mlflow, which imports it) is imported where a step uses it: building the
# definitions, which dagster dev and every run do, would otherwise pay about 2 s for it.

MLFLOW_RESOURCE_KEY = "mlflow"
LOCAL_ENVS = ("dev", "test")


def airbnb_price_name(env: str) -> str:
    """The experiment and the registered model of an environment: ``<env>_airbnb_price``."""
    return f"{env}_airbnb_price"


class TrackingServerUnreachable(ConnectionError):
    """The MLflow tracking server (runs and the model registry) refused or timed out a request."""


def _redacted(text: str, tracking_uri: str) -> str:
    """``text`` with the password of ``tracking_uri`` (``http://user:password@host``), if any, as ***."""
    password = urllib.parse.urlsplit(tracking_uri).password
    return text.replace(password, "***") if password else text


def _is_failed_connection(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from or while handling, is a connection that
    could not be made or a request that timed out (MLflow's REST client re-raises those of
    ``requests`` as an ``MlflowException``)."""
    import requests

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, (requests.ConnectionError, requests.Timeout, ConnectionError)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def tracking_server_errors(tracking_uri: str) -> Iterator[None]:
    """Raise a failed connection to the tracking server in the block as
    :class:`TrackingServerUnreachable` naming ``tracking_uri`` (any password in it hidden);
    MLflow's own error names only the endpoint of one request."""
    try:
        yield
    except TrackingServerUnreachable:
        raise
    except Exception as error:
        if not _is_failed_connection(error):
            raise
        raise TrackingServerUnreachable(
            _redacted(f"MLflow tracking server {tracking_uri} is not reachable: {error}", tracking_uri)
        ) from error


def local_mlflow_dir(storage_root: str) -> Path:
    return Path(StorageResource(root=storage_root).local_root) / "mlflow"


def local_tracking_uri(storage_root: str) -> str:
    """The SQLite backend under a local storage root (an absolute path: four slashes)."""
    return f"sqlite:///{local_mlflow_dir(storage_root) / 'mlflow.db'}"


def local_artifact_location(storage_root: str) -> str:
    return (local_mlflow_dir(storage_root) / "artifacts").as_uri()


def ensure_experiment(tracking_uri: str, name: str, artifact_location: str) -> str:
    """The id of experiment ``name``, created with ``artifact_location`` if it does not exist."""
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location)


@dg.resource(
    # The part of dagster-mlflow's configuration this project sets (its schema lives in the module
    # that imports mlflow), plus the experiment's artifact location.
    config_schema={
        "experiment_name": dg.Field(dg.StringSource, description="MLflow experiment name."),
        "mlflow_tracking_uri": dg.Field(
            dg.Noneable(dg.StringSource), default_value=None, is_required=False, description="Tracking URI."
        ),
        "extra_tags": dg.Field(dg.Permissive(), description="Tags set on the MLflow run."),
        "artifact_location": dg.Field(
            dg.Noneable(dg.StringSource),
            default_value=None,
            is_required=False,
            description="Artifact location of the experiment when it is created; None: the server's default.",
        ),
    },
    description=(
        "dagster-mlflow's mlflow_tracking (one MLflow run per Dagster run), which also creates the "
        "experiment with its artifact location and ends the MLflow run when the Dagster run ends."
    ),
)
def mlflow_tracking_with_artifact_location(init_context: dg.InitResourceContext) -> Iterator[Any]:
    import mlflow
    from dagster_mlflow import mlflow_tracking

    config = init_context.resource_config
    tracking_uri = config["mlflow_tracking_uri"] or mlflow.get_tracking_uri()
    with tracking_server_errors(tracking_uri):
        if config["artifact_location"]:
            ensure_experiment(tracking_uri, config["experiment_name"], config["artifact_location"])
        # resource_fn is typed as a function of the init context or of nothing; mlflow_tracking's takes it.
        tracking = mlflow_tracking.resource_fn(init_context)  # type: ignore[call-arg]  # typed as either arity
        tracked = next(tracking)  # sets the experiment and starts the MLflow run
    yield tracked
    for _ in tracking:  # dagster-mlflow's teardown
        pass
    with tracking_server_errors(tracking_uri):
        mlflow.end_run()


def mlflow_resource_for(env: str, storage_root: str | None = None) -> dg.ResourceDefinition:
    """The MLflow resource of ``env``: local SQLite under ``storage_root`` for dev and test,
    the server named by ``MLFLOW_TRACKING_URI`` for prod."""
    name = airbnb_price_name(env)
    if env in LOCAL_ENVS:
        if not storage_root:
            raise ValueError(f"the {env} MLflow backend lives under the storage root: pass storage_root")
        return mlflow_tracking_with_artifact_location.configured(
            {
                "experiment_name": name,
                "mlflow_tracking_uri": local_tracking_uri(storage_root),
                "artifact_location": local_artifact_location(storage_root),
                "extra_tags": {"mlvp_env": env},
            }
        )
    if env == "prod":
        return mlflow_tracking_with_artifact_location.configured(
            {
                "experiment_name": name,
                "mlflow_tracking_uri": {"env": MLFLOW_TRACKING_URI.name},
                "extra_tags": {"mlvp_env": env},
            }
        )
    raise ValueError(f"unknown environment {env!r}; valid: {', '.join((*LOCAL_ENVS, 'prod'))}")


@contextmanager
def run_marked_failed_on_error() -> Iterator[None]:
    """Mark the active MLflow run FAILED if the block raises (Dagster catches step errors, so
    dagster-mlflow's own teardown never sees them). A failed connection to the tracking server
    is raised as :class:`TrackingServerUnreachable`; the run is then no longer active in this
    process, but stays RUNNING on the server, which could not be told."""
    import mlflow
    from mlflow.entities import RunStatus

    try:
        with tracking_server_errors(mlflow.get_tracking_uri()):
            yield
    except BaseException:
        if mlflow.active_run() is not None:
            # end_run drops the run from this process before it tells the server; if that fails
            # too (the server is gone), the block's error is the one to report.
            with suppress(Exception):
                mlflow.end_run(status=RunStatus.to_string(RunStatus.FAILED))
        raise


def active_run_id() -> str:
    """The MLflow run dagster-mlflow started for this Dagster run."""
    import mlflow

    run = mlflow.active_run()
    if run is None:
        raise RuntimeError(
            f"no active MLflow run: the asset needs the {MLFLOW_RESOURCE_KEY!r} resource "
            "(dagster-mlflow starts the run when it is initialised)"
        )
    return run.info.run_id


MODEL_REGISTRY_RESOURCE_KEY = "model_registry"


class ModelRegistryResource(dg.ConfigurableResource):
    """Read access to the registered price model for scoring and monitoring.

    Unlike ``mlflow_tracking`` it starts no MLflow run: daily scoring reads the registry, it
    does not train. It points MLflow's process-wide tracking URI at the environment's backend,
    which is where ``models:/<name>@champion`` URIs are resolved.
    """

    tracking_uri: str
    model_name: str
    dfs_tmp: str | None = Field(
        default=None,
        description=(
            "Where MLflow's Spark flavour stages a model that executors write or read (MLFLOW_DFS_TMP); "
            "on a cluster a folder every executor sees. None: MLflow's default, /tmp/mlflow (local Spark)."
        ),
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)
        if self.dfs_tmp:
            # MLflow reads only the environment for it; training and scoring both hold this resource.
            MLFLOW_DFS_TMP.export(self.dfs_tmp)

    def client(self) -> MlflowClient:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri)


def model_registry_for(
    env: str, storage_root: str | None = None, dfs_tmp: str | None = None
) -> ModelRegistryResource:
    """The registry of ``env``: the same backend and model name as :func:`mlflow_resource_for`;
    prod stages Spark models in ``dfs_tmp``."""
    name = airbnb_price_name(env)
    if env in LOCAL_ENVS:
        if not storage_root:
            raise ValueError(f"the {env} MLflow backend lives under the storage root: pass storage_root")
        return ModelRegistryResource(tracking_uri=local_tracking_uri(storage_root), model_name=name)
    if env == "prod":
        return ModelRegistryResource(
            tracking_uri=dg.EnvVar(MLFLOW_TRACKING_URI.name), model_name=name, dfs_tmp=dfs_tmp
        )
    raise ValueError(f"unknown environment {env!r}; valid: {', '.join((*LOCAL_ENVS, 'prod'))}")
