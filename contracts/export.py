"""Write the JSON Schemas and the AsyncAPI 3 document generated from the models.

python -m contracts.export          # rewrite contracts/schemas/ and contracts/asyncapi.json
python -m contracts.export --check  # exit 1 if the files on disk drift from the models
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from .events import (
    SCHEMA_VERSION,
    Alert,
    CommunityEngagementFinding,
    DeadLetter,
    MappedEvent,
    ProviderPerformanceEvent,
    RecommendationResponse,
)
from .funding import FundingFlowEvent
from .peer_review import MappedPeerReview, PeerReviewReturn
from .topics import ALL_TOPICS

HERE = Path(__file__).parent
SCHEMA_DIR = HERE / "schemas"
ASYNCAPI_PATH = HERE / "asyncapi.json"
MODELS: tuple[type[BaseModel], ...] = (
    CommunityEngagementFinding,
    ProviderPerformanceEvent,
    MappedEvent,
    DeadLetter,
    Alert,
    RecommendationResponse,
    PeerReviewReturn,
    MappedPeerReview,
    FundingFlowEvent,
)


def portable(node: object) -> object:
    """The schema with pydantic's OpenAPI-style ``discriminator`` object written as the property
    name alone, the form the AsyncAPI Schema Object defines (a string). JSON Schema itself gives
    the keyword no meaning, so validation is unchanged: ``oneOf`` still decides."""
    if isinstance(node, dict):
        out = {k: portable(v) for k, v in node.items()}
        found = node.get("discriminator")
        if isinstance(found, dict) and "propertyName" in found:
            out["discriminator"] = found["propertyName"]
        return out
    if isinstance(node, list):
        return [portable(v) for v in node]
    return node


def json_schemas() -> dict[str, dict]:
    out = {}
    for model in MODELS:
        schema = portable(model.model_json_schema())
        assert isinstance(schema, dict)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"urn:commissioning-signals:schema:{model.__name__}:{SCHEMA_VERSION}"
        out[f"{model.__name__}.json"] = schema
    return out


def asyncapi_document() -> dict:
    channels, operations, messages = {}, {}, {}
    for topic in ALL_TOPICS:
        channel_id = topic.name.replace(".", "_")
        channel_messages = {}
        for model in topic.value_models:
            messages[model.__name__] = {
                "name": model.__name__,
                "contentType": "application/json",
                "payload": {"$ref": f"./schemas/{model.__name__}.json"},
                "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
            }
            channel_messages[model.__name__] = {"$ref": f"#/components/messages/{model.__name__}"}
        channels[channel_id] = {
            "address": topic.name,
            "description": topic.description,
            "messages": channel_messages,
            "bindings": {
                "kafka": {
                    "partitions": topic.partitions,
                    "replicas": 1,
                    "topicConfiguration": {"retention.ms": topic.retention_ms},
                }
            },
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Records published to {topic.name}, partitioned by {topic.key}.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Commissioning signals platform",
            "version": SCHEMA_VERSION,
            "description": "Topics between intake, mapping, alerts and reporting.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def rendered() -> dict[Path, str]:
    files = {
        SCHEMA_DIR / name: json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in json_schemas().items()
    }
    files[ASYNCAPI_PATH] = json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"
    return files


def drift() -> list[Path]:
    return [p for p, text in rendered().items() if not p.exists() or p.read_text() != text]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = drift()
        for p in stale:
            print(f"stale: {p.relative_to(HERE.parent)} (run: python -m contracts.export)")
        return 1 if stale else 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for path, text in rendered().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
