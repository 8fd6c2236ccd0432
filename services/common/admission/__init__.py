"""What a partner's event must pass before the platform keeps it, as pure functions (no I/O):
values PostgreSQL can store, dates that can be true, no personal data (the privacy guard), and
the idempotency decision. Intake admits events with them; the reporting API's explain endpoint
says what intake would refuse; the alerts API guards commissioners' free-text answers with the
same privacy and storable checks."""
