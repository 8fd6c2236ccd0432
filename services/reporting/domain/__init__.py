"""Reporting's pure domain: windows and comparisons. No I/O here."""
