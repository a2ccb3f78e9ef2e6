"""San Francisco Airbnb listings from landing files to bronze, silver and gold Delta tables, a Spark
ML price model tracked and registered in MLflow, and daily scoring, drift reports and a dashboard, as
one Dagster asset graph (:mod:`mlvp_assets.definitions`)."""
