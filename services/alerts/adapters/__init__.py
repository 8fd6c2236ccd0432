"""I/O of the alerts service: PostgreSQL (store, outbox, queries), webhooks, SMTP, LISTEN."""
