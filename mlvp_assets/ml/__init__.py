"""The price model: features and pipeline (``features``), training and MLflow logging
(``training``), registry and promotion (``registry``), and the Dagster assets (``assets``)."""
