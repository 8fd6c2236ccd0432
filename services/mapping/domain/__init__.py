"""Mapping's pure domain: the rule-set model and the mapping function. No I/O here."""
