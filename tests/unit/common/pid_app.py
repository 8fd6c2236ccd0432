"""A minimal ASGI app for tests of services.common.gunicorn_conf: ``/`` answers the worker's pid
(and counts the request), ``/metrics`` is services.common.metrics' exposition."""

from __future__ import annotations

import os

from services.common import metrics


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/metrics":
        body = metrics.exposition()[0]
    else:
        metrics.HTTP_REQUESTS.labels("/", "GET", "200").inc()
        body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
