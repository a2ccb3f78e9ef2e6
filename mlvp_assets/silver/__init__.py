"""Silver: typed, deduplicated listings; rows that break a rule go to quarantine."""
