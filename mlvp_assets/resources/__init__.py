"""The resources of the project, one module each: the Spark session (``spark``), the storage
root (``storage``) and MLflow (``mlflow``). Which of them an environment uses, and how they are
configured, is chosen in one place: :func:`mlvp_assets.environments.resources_for`.

This package imports nothing from the layers above it, and its ``__init__`` nothing at all, so
that a sensor can import ``resources.storage`` without loading Spark or MLflow.
"""
