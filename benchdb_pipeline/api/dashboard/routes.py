"""The dashboard's pages, served by ``benchdb serve`` under ``/ui``.

Server-rendered (Jinja2): tables and forms work without JavaScript; charts are Plotly.js,
served from the installed ``plotly`` package, under a Content-Security-Policy that lets a
page load nothing from anywhere else. Every view's filters are in its URL. Reads follow the
API's rules (open, or a token with ``--auth-reads``: a bearer header or the signed-in
cookie); triage needs a write token, signed in, and the form's CSRF token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode

import duckdb
import jinja2
import orjson
import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from benchdb_pipeline.api.dashboard import auth, charts, data
from benchdb_pipeline.errors import BenchdbError, DatabaseConnectionError, QueryError
from benchdb_pipeline.reports.filters import METRICS
from benchdb_pipeline.reports.render import fmt, render

T = TypeVar("T")
log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__path__[0]) / "package_data" / "plotly.min.js"  # the installed package's own
# Plotly.js sets styles inline (style-src 'unsafe-inline'); nothing else is allowed in.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
TRIAGE = ("acknowledged", "expected", "invalid", "fixed", "untriaged")
PAGES = (
    ("Overview", "/ui"),
    ("Series", "/ui/series"),
    ("Compare", "/ui/compare"),
    ("Regressions", "/ui/regressions"),
    ("Runs", "/ui/runs"),
    ("Machines", "/ui/machines"),
    ("Predict", "/ui/predict"),
)


@dataclass
class Context:
    """What the pages need from the server: its tokens and read rule, a read on the newest
    snapshot, and a write to the warehouse after which a snapshot holding it is published."""

    tokens: tuple[str, ...]
    auth_reads: bool
    read: Callable[[Callable[[duckdb.DuckDBPyConnection], Any]], Any]
    write: Callable[[Callable[[duckdb.DuckDBPyConnection], Any]], None]
    snapshot: Callable[[], int]  # which snapshot reads see now: derived data is cached per snapshot


def url(path: str, **params: object) -> str:
    """``path`` with the parameters that have a value."""
    kept = {k: v for k, v in params.items() if v is not None and v != ""}
    return f"{path}?{urlencode(kept)}" if kept else path


def platform_label(key: str | None) -> str:
    return (key or "").rstrip("|").replace("|", " · ")


def figure_json(figure: dict) -> Markup:
    """A figure as JSON safe inside a <script type="application/json"> element."""
    text = orjson.dumps(figure, option=orjson.OPT_NON_STR_KEYS).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("benchdb_pipeline.api.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_TEMPLATES.globals.update(url=url, fmt=fmt, platform_label=platform_label, PAGES=PAGES, METRICS=METRICS)
_TEMPLATES.filters["figure_json"] = figure_json


class _SignIn(Exception):
    """Reads need a token here, and the request brought none."""


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = (params.get(name) or "").strip()
    return value or None


def _int(
    params: Mapping[str, str], name: str, default: int | None = None, low: int | None = None
) -> int | None:
    value = _text(params, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise QueryError(f"{name} must be a whole number, not {value!r}") from None
    if low is not None and number < low:
        raise QueryError(f"{name} must be at least {low}")
    return number


def _series_key(params: Mapping[str, str]) -> data.SeriesKey | None:
    model, platform = _text(params, "model"), _text(params, "platform")
    if not model or not platform:
        return None
    return data.SeriesKey(
        model,
        platform,
        _text(params, "test_case"),
        _int(params, "batch_size", low=1),
        _int(params, "sequence_length", low=1),
        _text(params, "precision"),
    )


def router(ctx: Context) -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    fitted: dict[tuple, Any] = {}  # training data and fitted model by metric and snapshot

    def page(request: Request, template: str, code: int = 200, **values: Any) -> HTMLResponse:
        session = auth.signed_in(request, ctx.tokens)
        body = _TEMPLATES.get_template(template).render(
            request_path=request.url.path,
            signed_in=session is not None,
            writes_enabled=bool(ctx.tokens),
            csrf=auth.csrf_token(session) if session else "",
            **values,
        )
        return HTMLResponse(body, code, headers=HEADERS)

    def check_read(request: Request) -> None:
        if ctx.auth_reads and not (auth.bearer(request, ctx.tokens) or auth.signed_in(request, ctx.tokens)):
            raise _SignIn()

    def view(request: Request, template: str, work: Callable[[duckdb.DuckDBPyConnection], dict]) -> Response:
        """A page built from one snapshot read; bad filters and a missing snapshot shown as
        such, on the page."""
        try:
            check_read(request)
            values = ctx.read(work)
        except _SignIn:
            return RedirectResponse(
                url(
                    "/ui/signin",
                    next=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
                ),
                303,
            )
        except (QueryError, ValueError) as exc:
            return page(request, "error.html.j2", 400, title="Not understood", message=str(exc))
        except DatabaseConnectionError as exc:
            return page(request, "error.html.j2", 503, title="No snapshot yet", message=str(exc))
        return page(request, template, **values)

    @routes.get("", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        p = request.query_params

        def work(c: duckdb.DuckDBPyConnection) -> dict:
            q = data.OverviewQuery(
                model=_text(p, "model"),
                hardware=_text(p, "hardware"),
                precision=_text(p, "precision"),
                batch_size=_int(p, "batch_size", low=1),
                metric=_text(p, "metric") or "throughput",
                sort=_text(p, "sort") or "configuration",
                offset=_int(p, "offset", 0, low=0) or 0,
            )
            return {
                "title": "Latest results",
                "q": q,
                "table": data.overview(c, q),
                "choices": data.choices(c),
                "sorts": list(data.OVERVIEW_SORTS),
                "page_rows": data.PAGE_ROWS,
                "metric": data.metric(q.metric),
            }

        return view(request, "overview.html.j2", work)

    @routes.get("/series", response_class=HTMLResponse)
    def series(request: Request) -> Response:
        p = request.query_params

        def work(c: duckdb.DuckDBPyConnection) -> dict:
            key = _series_key(p)
            result_id = _int(p, "result")
            if key is None and result_id is not None:
                key = data.series_for_result(c, result_id)
            name = _text(p, "metric") or "throughput"
            by = "commit" if _text(p, "x") == "commit" else "time"
            if key is None:
                return {"title": "Series", "key": None, "metric": data.metric(name), "by": by}
            found = data.series(c, key, name)
            return {
                "title": key.label(),
                "key": key,
                "metric": found.metric,
                "by": by,
                "series": found,
                "figure": charts.series_figure(found, by),
                "drawn_limit": charts.MAX_DRAWN,
            }

        return view(request, "series.html.j2", work)

    @routes.get("/series.csv")
    def series_csv(request: Request) -> Response:
        p = request.query_params
        try:
            check_read(request)
            key = _series_key(p)
            if key is None:
                raise QueryError("a series needs model and platform")
            m = data.metric(_text(p, "metric") or "throughput")
            points = ctx.read(lambda c: data.series_points(c, key, m))
        except _SignIn:
            return Response("sign in first", 401, headers=HEADERS)
        except (QueryError, ValueError) as exc:
            return Response(str(exc), 400, media_type="text/plain", headers=HEADERS)
        columns = list(data.CSV_COLUMNS)
        body = render(columns, [[point[c] for c in columns] for point in points], "csv")
        name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key.label())[:120]
        return Response(
            body,
            media_type="text/csv",
            headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}.csv"'},
        )

    @routes.get("/compare", response_class=HTMLResponse)
    def compare(request: Request) -> Response:
        p = request.query_params
        name = _text(p, "metric") or "throughput"
        kind = _text(p, "kind") or "run"
        a, b = _text(p, "a"), _text(p, "b")
        model = _text(p, "model")
        precision = _text(p, "precision")

        def work(c: duckdb.DuckDBPyConnection) -> dict:
            m = data.metric(name)
            values: dict[str, Any] = {
                "title": "Compare",
                "metric": m,
                "kind": kind,
                "a": a,
                "b": b,
                "model": model,
                "precision": precision,
                "sides": data.sides(c),
                "kinds": list(data.SELECTIONS),
                "comparison": None,
                "matrix": data.matrix(c, name, precision),
                "scaling": None,
            }
            if a and b:
                values["comparison"] = data.compare(c, data.Side(kind, a), data.Side(kind, b), name)
            if model:
                rows = data.scaling(c, model, name)
                values["scaling"] = charts.scaling_figure(rows, m) if rows else None
            return values

        return view(request, "compare.html.j2", work)

    @routes.get("/regressions", response_class=HTMLResponse)
    def regressions(request: Request) -> Response:
        status = _text(request.query_params, "status")
        if status not in (None, "all", *TRIAGE):
            status = None
        chosen = None if status == "all" else (status or "untriaged")
        return view(
            request,
            "regressions.html.j2",
            lambda c: {
                "title": "Regressions",
                "alerts": data.alerts(c, chosen),
                "status": status or "untriaged",
                "statuses": ["all", *TRIAGE],
                "triage": TRIAGE,
                "done": _text(request.query_params, "done"),
            },
        )

    @routes.post("/regressions/{regression_id}")
    async def triage(request: Request, regression_id: int) -> Response:
        session = auth.signed_in(request, ctx.tokens)
        if session is None:
            return page(
                request,
                "error.html.j2",
                401,
                title="Sign in to triage",
                message="Triage needs a write token: sign in first.",
            )
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
        if not auth.csrf_valid(session, form.get("csrf")):
            return page(
                request,
                "error.html.j2",
                403,
                title="Refused",
                message="The form's CSRF token is missing or wrong; reload the page and try again.",
            )
        status, note = form.get("status", ""), (form.get("note") or "").strip() or None
        if status not in TRIAGE:
            return page(
                request, "error.html.j2", 400, title="Not understood", message=f"unknown status {status!r}"
            )
        from benchdb_pipeline.analytics.regressions import triage as set_status

        try:
            ctx.write(lambda con: set_status(con, regression_id, status, note))
        except QueryError as exc:
            return page(request, "error.html.j2", 404, title="Not found", message=str(exc))
        except BenchdbError as exc:
            return page(request, "error.html.j2", 503, title="Not stored", message=str(exc))
        back = form.get("back") or "/ui/regressions"
        if not back.startswith("/ui"):
            back = "/ui/regressions"
        sep = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{sep}done={regression_id}", 303)

    @routes.get("/runs", response_class=HTMLResponse)
    def runs(request: Request) -> Response:
        p = request.query_params

        def work(c: duckdb.DuckDBPyConnection) -> dict:
            offset = _int(p, "offset", 0, low=0) or 0
            test_type = _text(p, "test_type")
            return {
                "title": "Runs",
                "runs": data.runs(c, offset, test_type),
                "offset": offset,
                "test_type": test_type,
                "page_rows": data.PAGE_ROWS,
                "quarantined": data.quarantined(c),
            }

        return view(request, "runs.html.j2", work)

    @routes.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(request: Request, run_id: int) -> Response:
        return view(request, "run.html.j2", lambda c: {"title": f"Run {run_id}", "run": data.run(c, run_id)})

    @routes.get("/machines", response_class=HTMLResponse)
    def machines(request: Request) -> Response:
        return view(
            request, "machines.html.j2", lambda c: {"title": "Machines", "machines": data.machines(c)}
        )

    @routes.get("/predict", response_class=HTMLResponse)
    def predict(request: Request) -> Response:
        p = request.query_params
        asked = {k: _text(p, k) for k in ("model", "hardware", "device", "precision", "metric", "simulated")}

        def work(c: duckdb.DuckDBPyConnection) -> dict:
            batch = _int(p, "batch_size", low=1)
            values: dict[str, Any] = {"title": "Predict", "asked": asked, "batch_size": batch, "answer": None}
            name = asked["metric"] or "throughput"
            data.metric(name)
            if not (asked["model"] and asked["hardware"] and batch and asked["precision"]):
                return values
            values["answer"] = _predict(c, name, asked, batch)
            return values

        return view(request, "predict.html.j2", work)

    def _predict(c: duckdb.DuckDBPyConnection, name: str, asked: dict, batch: int) -> dict:
        from benchdb_pipeline.analytics import prediction

        simulated = bool(asked["simulated"])
        key = (name, simulated, ctx.snapshot())
        if key not in fitted:
            frame = prediction.training_frame(c, name, include_simulated=simulated)
            if len(frame) < 5:
                raise QueryError(
                    f"{len(frame)} measured configurations are too few to predict from"
                    + (
                        ""
                        if simulated
                        else " (simulated results left out: tick 'learn from simulated results')"
                    )
                )
            if len(fitted) >= 6:  # the newest snapshot's models are what is asked for
                fitted.clear()
            fitted[key] = (frame, prediction.fit(frame, name))
        frame, model = fitted[key]
        query, _curve = prediction.question(
            frame, asked["model"], asked["hardware"], asked["device"], batch, asked["precision"]
        )
        measured = prediction.measured(frame, query.iloc[0], device=asked["device"])
        row = model.predict(query).iloc[0]
        return {
            "query": query.iloc[0].to_dict(),
            "predicted": float(row["predicted"]),
            "low": float(row["interval_low"]),
            "high": float(row["interval_high"]),
            "kind": row["kind"],
            "measured": measured.to_dict("records"),
            "neighbours": model.neighbours(query.iloc[0]).to_dict("records"),
            "configurations": len(frame),
            "simulated": simulated,
            "unit": METRICS[name].unit,
        }

    @routes.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request) -> Response:
        return page(
            request,
            "signin.html.j2",
            title="Sign in",
            next=_safe_next(request.query_params.get("next")),
            error=None,
        )

    @routes.post("/signin")
    async def signin(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
        token, next_page = form.get("token", ""), _safe_next(form.get("next"))
        if not auth.valid(token, ctx.tokens):
            return page(
                request,
                "signin.html.j2",
                401,
                title="Sign in",
                next=next_page,
                error="That is not a valid token.",
            )
        response = RedirectResponse(next_page, 303)
        response.set_cookie(
            auth.SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @routes.post("/signout")
    def signout() -> Response:
        response = RedirectResponse("/ui", 303)
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    @routes.get("/static/{name}")
    def static(name: str) -> Response:
        path = PLOTLY_JS if name == "plotly.min.js" else STATIC / name
        if name not in {"plotly.min.js", *(p.name for p in STATIC.iterdir())}:
            return Response("not found", 404)
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400", **HEADERS})

    return routes


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard page, never another site."""
    return value if value and value.startswith("/ui") and not value.startswith("//") else "/ui"
