"""Gold: model-ready listings under a blocking contract."""
