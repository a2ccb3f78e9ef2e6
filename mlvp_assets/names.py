"""The names that tie the asset graph together, in one place: asset groups (jobs select by
them), tables (each is an asset key and a Delta folder under ``<root>/warehouse``) and the keys
of the assets that are not tables. Importing this module loads nothing else, so sensors, jobs
and schedules can name assets without Spark, MLflow or Evidently."""

# Asset groups, in the order the daily data flows through them.
BRONZE_GROUP = "bronze"
SILVER_GROUP = "silver"
GOLD_GROUP = "gold"
ML_GROUP = "ml"
PREDICTIONS_GROUP = "predictions"
MONITORING_GROUP = "monitoring"

# Tables: the medallion layers and the logs beside them.
BRONZE_TABLE = "bronze_listings"
INGESTION_LOG = "ingestion_log"
SILVER_TABLE = "silver_listings"
QUARANTINE_TABLE = "quarantined_listings"
DATA_QUALITY_LOG = "data_quality_log"
GOLD_TABLE = "gold_listings"
TRAINING_SET_TABLE = "training_set"
PREDICTIONS_TABLE = "daily_predictions"
UNSEEN_TABLE = "unseen_listings"
DATA_DRIFT_LOG = "data_drift_log"
MODEL_DRIFT_LOG = "model_drift_log"

# Assets that are not tables.
PRICE_MODEL = "price_model"
DATA_DRIFT_REPORT = "data_drift_report"
MODEL_DRIFT_REPORT = "model_drift_report"
DAILY_DASHBOARD = "daily_dashboard"
