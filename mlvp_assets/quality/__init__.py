"""Data-quality machinery shared by every table: named rules, their evaluation, the log."""
