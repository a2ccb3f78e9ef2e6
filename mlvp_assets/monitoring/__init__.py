"""Daily scoring of gold with the champion model, drift reports (Evidently) and the daily dashboard."""
