"""What runs the project by itself: the daily schedule, the landing-zone and retraining sensors,
and the alerts that reach people. Nothing here starts Spark: sensors and schedules only list
files and read the Dagster instance."""
