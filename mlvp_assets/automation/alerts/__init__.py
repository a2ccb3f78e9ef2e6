"""Alerts that reach people: failed asset checks and failed runs, by log file, email or webhook.

``alert.py`` holds the ``Alert`` value and its renderings, ``channels.py`` the deliveries,
``resource.py`` the ``alerts`` resource and its settings per environment, ``sensors.py`` the
sensors that find failures in the Dagster instance.
"""

from mlvp_assets.automation.alerts.alert import Alert, Severity
from mlvp_assets.automation.alerts.channels import AlertDeliveryError
from mlvp_assets.automation.alerts.resource import (
    ALERTS_RESOURCE_KEY,
    AlertConfigError,
    AlertResource,
    alert_resource_for,
)
from mlvp_assets.automation.alerts.sensors import (
    alert_sensors,
    asset_check_failure_alert_sensor,
    build_check_failure_alert_sensor,
    run_failure_alert_sensor,
)

__all__ = [
    "ALERTS_RESOURCE_KEY",
    "Alert",
    "AlertConfigError",
    "AlertDeliveryError",
    "AlertResource",
    "Severity",
    "alert_resource_for",
    "alert_sensors",
    "asset_check_failure_alert_sensor",
    "build_check_failure_alert_sensor",
    "run_failure_alert_sensor",
]
