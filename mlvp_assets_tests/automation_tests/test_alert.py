"""The ``Alert`` value: its JSON form and the texts every channel sends."""

import datetime as dt

import dagster as dg

from mlvp_assets.automation.alert_sensors import check_links, check_summary
from mlvp_assets.resources.alerts import Alert, Severity
from mlvp_assets.resources.alerts.alert import SUMMARY_MAX_CHARS, escape_chat_text


def run_failure(**changes) -> Alert:
    values = dict(
        severity="high",
        title="Run failed: medallion_job",
        summary="ValueError: boom",
        kind="run_failure",
        run_id="r1",
        links={"run": "http://127.0.0.1:3000/runs/r1"},
        created_at=dt.datetime(2026, 1, 2, 6, 0, tzinfo=dt.UTC),
    )
    values.update(changes)
    return Alert(**values)


def test_json_round_trip_keeps_every_field():
    alert = run_failure(partition="2026-01-02", asset_key="gold_listings")
    assert Alert.from_json(alert.to_json()) == alert
    assert alert.severity is Severity.HIGH  # a plain string is taken as a severity


def test_subject_and_text_without_asset_or_partition():
    alert = run_failure()
    assert alert.subject("mlvp prod") == "[mlvp prod] HIGH: Run failed: medallion_job"
    assert alert.to_text("mlvp prod") == (
        "HIGH alert from mlvp prod: Run failed: medallion_job\n"
        "\n"
        "Severity: high\n"
        "Asset: -\n"
        "Partition: -\n"
        "Run: r1\n"
        "Time: 2026-01-02T06:00:00+00:00\n"
        "\n"
        "Summary:\n"
        "  ValueError: boom\n"
        "\n"
        "Links:\n"
        "  run: http://127.0.0.1:3000/runs/r1\n"
    )
    assert alert.webhook_payload("mlvp prod") == {"text": alert.to_text("mlvp prod")}


def test_the_webhook_text_escapes_only_slacks_control_characters():
    assert escape_chat_text("<!channel> & <@U1> &lt; é *bold*") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &amp;lt; é *bold*"
    )
    alert = run_failure(
        summary="column <!here> added",
        links={"report": "http://127.0.0.1:8080/r?day=2026-01-02&kind=drift"},
    )
    text = alert.webhook_payload()["text"]
    assert "  column &lt;!here&gt; added" in text.splitlines()
    # Slack shows "&amp;" as "&": the link is the same address.
    assert "  report: http://127.0.0.1:8080/r?day=2026-01-02&amp;kind=drift" in text.splitlines()
    # The log channel's JSON and the e-mail keep the values as they are.
    assert Alert.from_json(alert.to_json()).summary == "column <!here> added"
    assert "  column <!here> added" in alert.to_text().splitlines()


def test_subject_names_asset_and_partition_once():
    alert = run_failure(title="Run failed: training_job", asset_key="price_model", partition="2026-01-02")
    assert alert.subject() == "[mlvp] HIGH: Run failed: training_job on price_model [2026-01-02]"


def test_a_long_summary_is_cut_with_an_ellipsis():
    alert = run_failure(summary="x" * 5000)
    assert len(alert.summary) == SUMMARY_MAX_CHARS and alert.summary.endswith("…")


def test_check_summary_is_short_and_links_come_from_metadata():
    evaluation = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(["ml", "daily_predictions"]),
        check_name="no_model_drift",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            **{f"metric_{i}": i for i in range(8)},
            "failures": {"column": "y" * 500},
            "dashboard": "https://grafana.example/d/mlvp",  # a text value that is a URL
            "report": dg.MetadataValue.path("s3a://bucket/reports/drift.html"),
        },
    )
    summary = check_summary(evaluation).splitlines()
    assert len(summary) == 7 and summary[-1] == "(+3 more metadata entries in the Dagster UI)"
    assert all(len(line) <= 170 for line in summary)
    assert check_links(evaluation, "r9", "http://ui") == {
        "report": "s3a://bucket/reports/drift.html",
        "dashboard": "https://grafana.example/d/mlvp",
        "run": "http://ui/runs/r9",
        "asset": "http://ui/assets/ml/daily_predictions",
    }
