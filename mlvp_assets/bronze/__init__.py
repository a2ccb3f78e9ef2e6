"""Bronze: landing files ingested as text, incrementally, with nothing dropped."""
