"""Interactive API docs served by the service itself: Swagger UI from local files, under a CSP.

FastAPI's default /docs page loads Swagger UI's script and stylesheet from a CDN, so a page of
ours would run whatever that host serves. Here every API is built with :func:`api_app`, which
turns the default pages off and serves /docs the way FastAPI documents for self-hosting
("Custom Docs UI Static Assets"): ``get_swagger_ui_html`` pointed at Swagger UI's dist files,
mounted at ``/docs/assets``. The files come from the ``fastapi-swagger`` package, which ships
Swagger UI 5 (the first major version that renders OpenAPI 3.1, what FastAPI writes) as package
data; only the files are used, not its wiring, which has no CSP. The page answers
with a Content-Security-Policy that lets scripts and styles come only from the service ('self'),
plus the one inline script that starts Swagger UI, allowed by its SHA-256. ReDoc is off: it
would need a second bundle, and Swagger UI covers the same ground.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from .problems import document_body_problems

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"

#: Swagger UI options: no badge fetched from the public validator, no deep links to outside hosts.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}

#: Swagger UI's dist files: swagger-ui-bundle.js, swagger-ui.css, favicon-32x32.png.
ASSETS = resources.files("fastapi_swagger.resources")

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def inline_script_hashes(page: str) -> list[str]:
    """CSP hash sources (``'sha256-...'``) of the inline scripts of ``page``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    ]


def content_security_policy(page: str) -> str:
    """Only the service itself for scripts, styles, images, fonts and requests; no frames, no
    plugins. The inline starter script is allowed by its hash, nothing else inline is."""
    scripts = " ".join(["'self'", *inline_script_hashes(page)])
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    )


def swagger_ui_page(openapi_url: str, title: str, root_path: str = "") -> HTMLResponse:
    """The /docs page, its assets from ``ASSETS_PATH``, with its CSP and no-sniff headers.
    ``root_path``: the prefix a proxy serves the app under, as FastAPI's own /docs honours it."""
    page = get_swagger_ui_html(
        openapi_url=root_path + openapi_url,
        title=title,
        swagger_js_url=f"{root_path}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root_path}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root_path}{ASSETS_PATH}/favicon-32x32.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    text = bytes(page.body).decode()
    return HTMLResponse(
        text,
        headers={
            "Content-Security-Policy": content_security_policy(text),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
        },
    )


def api_app(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose /docs is Swagger UI from local files (see the module docstring).

    Takes FastAPI's own arguments; ``docs_url`` and ``redoc_url`` are this module's to set.
    """
    if "docs_url" in kwargs or "redoc_url" in kwargs:
        raise TypeError("api_app serves /docs itself; do not pass docs_url or redoc_url")
    app = FastAPI(docs_url=None, redoc_url=None, **kwargs)
    document_body_problems(app)
    app.mount(ASSETS_PATH, StaticFiles(directory=str(ASSETS)), name="swagger-ui-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return swagger_ui_page(
            app.openapi_url or "/openapi.json",
            f"{app.title} – API docs",
            request.scope.get("root_path", "").rstrip("/"),
        )

    return app
