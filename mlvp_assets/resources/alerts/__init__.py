"""The ``alerts`` resource: alerts that reach people, by log file, email or webhook.

``alert.py`` holds the ``Alert`` value and its renderings, ``channels.py`` the deliveries,
``resource.py`` the ``alerts`` resource and its settings per environment. The sensors that find
failures in the Dagster instance and send them through this resource live with the other sensors,
in the layer above; nothing here imports them.
"""

from mlvp_assets.resources.alerts.alert import Alert, Severity
from mlvp_assets.resources.alerts.channels import AlertDeliveryError
from mlvp_assets.resources.alerts.resource import (
    ALERTS_RESOURCE_KEY,
    AlertConfigError,
    AlertResource,
    alert_resource_for,
)

__all__ = [
    "ALERTS_RESOURCE_KEY",
    "Alert",
    "AlertConfigError",
    "AlertDeliveryError",
    "AlertResource",
    "Severity",
    "alert_resource_for",
]
