"""The JSON Schema of Alertmanager's webhook format (version 4) that alert webhook bodies are
checked against: contracts/external/alertmanager-webhook-v4.json."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "contracts" / "external" / "alertmanager-webhook-v4.json").read_text()
)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(body: dict) -> list[str]:
    """What an Alertmanager receiver would refuse in ``body``, read through JSON as it sees it."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in VALIDATOR.iter_errors(json.loads(json.dumps(body)))
    ]
