"""Names of the prediction and monitoring tables and assets, importable without Spark or
Evidently (the sensors read them)."""

PREDICTIONS_TABLE = "daily_predictions"
UNSEEN_TABLE = "unseen_listings"
DATA_DRIFT_LOG = "data_drift_log"
MODEL_DRIFT_LOG = "model_drift_log"
DATA_DRIFT_REPORT = "data_drift_report"
MODEL_DRIFT_REPORT = "model_drift_report"
