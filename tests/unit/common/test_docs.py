"""/docs from local Swagger UI files under a Content-Security-Policy (services/common/docs.py)."""

from __future__ import annotations

import re
import warnings

import pytest

from services.common import docs

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _client() -> TestClient:
    app = docs.api_app(title="Docs check", version="1")

    @app.get("/v1/thing")
    async def thing(x: int = 1) -> dict:
        return {"x": x}

    return TestClient(app)


def asset_urls(page: str) -> list[str]:
    """Every script src and link href of a page."""
    return re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', page)


def test_docs_load_only_the_services_own_files():
    client = _client()
    answer = client.get("/docs")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    urls = asset_urls(answer.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(urls)
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "cdn" not in answer.text.lower() and "http" not in answer.text
    for u in urls:
        got = client.get(u)
        assert got.status_code == 200 and got.content, u
    assert client.get("/docs/assets/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_docs_answer_with_a_csp_that_allows_only_self_and_the_starter_script():
    answer = _client().get("/docs")
    csp = dict(part.strip().split(" ", 1) for part in answer.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    sources = csp["script-src"].split()
    assert sources[0] == "'self'" and "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
    # The one inline script (it starts Swagger UI) is allowed by its hash, which is of this page's script.
    assert sources[1:] == docs.inline_script_hashes(answer.text) and len(sources) == 2
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_hash_changes_with_the_script():
    a = docs.inline_script_hashes("<script>one()</script>")
    b = docs.inline_script_hashes("<script>two()</script>")
    assert a != b and len(a) == 1 and a[0].startswith("'sha256-")
    assert docs.inline_script_hashes('<script src="/x.js"></script>') == []


def test_redoc_and_the_cdn_pages_are_gone_and_docs_stay_out_of_the_schema():
    client = _client()
    assert client.get("/redoc").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/v1/thing"}


def test_docs_follow_the_root_path_of_a_proxy():
    page = TestClient(docs.api_app(title="Docs check"), root_path="/reporting").get("/docs").text
    assert "/reporting/openapi.json" in page and "/reporting/docs/assets/swagger-ui-bundle.js" in page


def test_api_app_owns_the_docs_settings():
    with pytest.raises(TypeError):
        docs.api_app(title="x", docs_url="/elsewhere")
