"""The AsyncAPI document, read by the official parser (@asyncapi/parser, pinned in
tests/interop/package.json and installed by deploy/local/install.sh) with the machine's Node, as a
partner's code generator or catalogue would read it: relative ``./schemas/*.json`` references
resolve against contracts/."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from contracts.export import ASYNCAPI_PATH, SCHEMA_DIR

HERE = Path(__file__).parent
CHECK = HERE / "asyncapi_check.mjs"


def parse(document: Path) -> tuple[int, dict]:
    proc = subprocess.run(["node", str(CHECK), str(document)], capture_output=True, text=True, cwd=HERE, timeout=120)
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_published_document_parses_with_no_errors():
    code, report = parse(ASYNCAPI_PATH)
    assert code == 0 and report["parsed"], report
    assert report["errors"] == []


def test_the_parser_refuses_a_payload_schema_with_an_openapi_discriminator(tmp_path):
    """The check can fail: pydantic's own discriminator object, put back into a copy of the
    mapped-event schema, is what the parser refused before contracts.export made it portable."""
    shutil.copy(ASYNCAPI_PATH, tmp_path / "asyncapi.json")
    shutil.copytree(SCHEMA_DIR, tmp_path / "schemas")
    mapped = tmp_path / "schemas" / "MappedEvent.json"
    schema = json.loads(mapped.read_text())
    schema["properties"]["event"]["discriminator"] = {"propertyName": "type", "mapping": {}}
    mapped.write_text(json.dumps(schema))
    code, report = parse(tmp_path / "asyncapi.json")
    assert code == 1 and not report["parsed"]
    assert any("discriminator" in e["message"] for e in report["errors"]), report
