"""The machine's ceiling: a bare Starlette JSON endpoint under uvicorn, no Django, no database.

`python -m uvicorn bench.ceiling_app:app --port N`
"""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def healthz(request):
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/healthz", healthz)])
