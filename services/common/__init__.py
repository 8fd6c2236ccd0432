"""Plumbing every service shares: settings, structured logs, metrics, PostgreSQL, Kafka clients.

No domain logic lives here; the domain is in each service's ``domain`` package and in ``contracts``.
"""
