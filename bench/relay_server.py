"""The thinnest HTTP layer over Elasticsearch in the API's stack: the floor for bench.search.

    python -m bench.relay_server ES_URL

Same stack as ``onionscope serve`` (uvicorn with httptools, FastAPI,
aiohttp to Elasticsearch), but no token check, no query parsing, no shaping,
no audit and no re-encoding: ``POST /relay/{path}`` forwards the body to
``ES_URL/{path}`` and hands the answer's bytes back.  Whatever overhead it
shows against a direct query is the price of any Python HTTP hop on this
machine; the API's overhead beyond it is onionscope's own work.

Prints ``relay on http://127.0.0.1:PORT`` once listening on a free loopback
port.  Benchmark use only; it listens on 127.0.0.1 and relays to ES_URL only.
"""

from __future__ import annotations

import socket
import sys
from contextlib import asynccontextmanager

import aiohttp
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        raise SystemExit("usage: python -m bench.relay_server ES_URL")
    es_url = arguments[0].rstrip("/")
    state: dict[str, aiohttp.ClientSession] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        state["session"] = aiohttp.ClientSession()
        yield
        await state["session"].close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/relay/{path:path}")
    async def relay(path: str, request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "application/json")
        async with state["session"].post(f"{es_url}/{path}", data=body,
                                          headers={"content-type": content_type}) as answer:
            data = await answer.read()
            return Response(data, status_code=answer.status, media_type="application/json")

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(f"relay on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, proxy_headers=False, server_header=False)
    uvicorn.Server(config).run(sockets=[listener])
    return 0


if __name__ == "__main__":
    sys.exit(main())
