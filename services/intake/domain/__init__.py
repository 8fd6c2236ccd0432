"""Intake's pure domain: privacy guard, admission checks, rate limiting. No I/O here."""
