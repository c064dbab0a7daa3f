"""The protected app of the forward-auth tests: it greets whoever nginx says is signed in.

Run with ``uvicorn tests.nginx.demo_app:app``. It shows every ``Remote-*`` header it received,
so a test can see exactly what nginx passed on (and what it replaced).
"""

from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route


async def greet(request: Request) -> HTMLResponse:
    """``Hello, NAME`` from ``Remote-User``, the list of the ``Remote-*`` headers as received, and the body's size."""
    user = request.headers.get("remote-user", "")
    seen = [(k, v) for k, v in request.headers.items() if k.replace("_", "-").startswith("remote-")]
    items = "".join(f"<li>{escape(k)}: <span>{escape(v)}</span></li>" for k, v in seen)
    size = len(await request.body())
    body = f'<h1 id="greeting">Hello, {escape(user)}</h1><ul id="received">{items}</ul><p id="body">{size} bytes</p>'
    return HTMLResponse(f"<!doctype html><title>Line 3 dashboard</title>{body}")


app = Starlette(routes=[Route("/{path:path}", greet, methods=["GET", "POST"])])
