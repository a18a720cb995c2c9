"""Airflow 3 plugin: the OCOP submission status page inside the Airflow UI.

- ``fastapi_apps``: a FastAPI app mounted by the API server under ``/ocop``:
  ``/ocop/`` (the page), ``/ocop/reports/<path>`` (the province report files and folders),
  ``/ocop/health`` (no auth; for probes).
- ``external_views``: a "OCOP status" entry in the UI's navigation that shows ``/ocop/`` in the
  UI frame (``/plugin/ocop-status``).

Airflow does not authenticate plugin apps (a mounted app does not inherit the core API's
dependencies), so every route but ``/health`` depends on Airflow's own ``get_user``: the JWT
of the ``Authorization: Bearer`` header or of the ``_token`` cookie the UI login sets, checked
by the configured auth manager; the user must also be allowed the "website" view. A browser
without a valid token is redirected to the auth manager's login page and comes back after.

The data comes from ``ocop.status`` (no Airflow in it) reading the warehouse of ``OCOP_*``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import get_user
from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/ocop"


async def require_user(request: Request, user=Depends(get_user)):
    """The authenticated Airflow user allowed the website view; else 401 (-> login) or 403."""
    from airflow.api_fastapi.app import get_auth_manager

    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status_code=403, detail="Forbidden")
    return user


def _settings():
    from ocop.config import Settings

    return Settings.from_env()


def _engine(url: str):
    from ocop.warehouse import make_engine

    return _ENGINES.setdefault(url, make_engine(url))


_ENGINES: dict = {}


def _login_redirect(request: Request) -> RedirectResponse:
    from airflow.api_fastapi.app import get_auth_manager

    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(get_auth_manager().get_url_login(next_url=target), status_code=303)


app = FastAPI(title="OCOP status", description="Submission status of the 34 provinces and official counts.")


@app.exception_handler(HTTPException)
async def _auth_errors(request: Request, exc: HTTPException):
    wants_html = "text/html" in request.headers.get("accept", "")
    if exc.status_code == 401 and wants_html:
        return _login_redirect(request)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


@app.get("/health", include_in_schema=False)
async def health() -> dict:
    return {"status": "ok"}


def _page_html() -> str:
    import datetime as dt

    from ocop import status
    from ocop.monitor import stale_days_from_env

    settings = _settings()
    page = status.build_status(_engine(settings.warehouse_url), settings.reports, dt.date.today(),
                               publications_root=settings.publications)
    return status.render_html(page, report_url="reports/", stale_days=stale_days_from_env())


@app.get("/", response_class=HTMLResponse)
async def status_page(user=Depends(require_user)) -> HTMLResponse:
    import sqlalchemy.exc

    try:
        # The warehouse query is synchronous: keep it off the API server's event loop.
        return HTMLResponse(await asyncio.to_thread(_page_html))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        return HTMLResponse("<!doctype html><meta charset=utf-8><title>OCOP status</title>"
                            "<h1>OCOP: the warehouse is not available yet</h1>"
                            f"<p>{type(exc).__name__}: has it been migrated (airflow-init / ocop run)?</p>",
                            status_code=503)


@app.get("/status.json")
async def status_json(user=Depends(require_user)) -> JSONResponse:
    """The page's data as JSON (for scripts)."""
    import dataclasses
    import datetime as dt

    from ocop import status

    def build():
        settings = _settings()
        page = status.build_status(_engine(settings.warehouse_url), settings.reports, dt.date.today(),
                                   publications_root=settings.publications)
        return _jsonable(dataclasses.asdict(page))

    return JSONResponse(await asyncio.to_thread(build))


def _jsonable(value):
    import datetime as dt

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


@app.get("/reports/{path:path}")
async def report_file(path: str, user=Depends(require_user)):
    from ocop import status

    root = _settings().reports
    target = status.resolve_report_file(root, path)
    if target is None:
        raise HTTPException(status_code=404, detail="Not found")
    if target.is_dir():
        if path and not path.endswith("/"):
            return RedirectResponse(quote(Path(path).name) + "/", status_code=307)
        return HTMLResponse(status.directory_listing_html(root, path))
    return FileResponse(target, filename=target.name)


class OcopStatusPlugin(AirflowPlugin):
    name = "ocop_status"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "OCOP status"}]
    external_views = [{
        "name": "OCOP status",
        "href": URL_PREFIX.lstrip("/") + "/",
        "destination": "nav",
        "url_route": "ocop-status",
    }]

