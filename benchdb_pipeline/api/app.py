"""The REST API: FastAPI over the spool, the writer and the read snapshot.

Writes need a bearer token (``BENCHDB_API_TOKENS``); reads are open unless ``auth_reads``.
A POSTed record is validated by the ingestion rules (422 naming the field), written durably
to the spool, then stored by the group-commit writer: 201 when it is in the warehouse, 202
when another process holds the database (it is stored as soon as it is free). Reads come
from a snapshot, so they keep answering while another process writes.
"""

import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Route

from benchdb_pipeline import __version__
from benchdb_pipeline.api import reads, safe_query
from benchdb_pipeline.api.dashboard import routes as dashboard
from benchdb_pipeline.api.limits import BodyLimit
from benchdb_pipeline.api.query_workers import Busy, Limits, QueryWorkers
from benchdb_pipeline.api.schemas import (
    CompatibilityIn,
    IntegrationIn,
    PageOut,
    PerformanceIn,
    QueryIn,
    QueryOut,
    RecordIn,
    Stored,
)
from benchdb_pipeline.api.snapshot import Snapshots
from benchdb_pipeline.api.submit import (
    IdempotencyConflict,
    InvalidRecord,
    SpoolUnwritable,
    Submission,
    check_limits,
    spool,
    spool_dir_for,
    spool_file,
    spool_problem,
)
from benchdb_pipeline.api.writer import QUARANTINED, SPOOLED, STORED, Writer
from benchdb_pipeline.config import beside, is_lake
from benchdb_pipeline.errors import DatabaseConnectionError
from benchdb_pipeline.reports.filters import Filters
from benchdb_pipeline.warehouse.schema import SCHEMA_VERSION, ensure_schema
from benchdb_pipeline.warehouse.store import session

T = TypeVar("T")

log = logging.getLogger(__name__)
MAX_PAGE = 10_000
MAX_UPLOAD = 64 * 2**20  # a whole result file, POST /results
MAX_BODY = 2**20  # any other request


WRITE_HEADER, WRITE_COOKIE = "X-Benchdb-Write", "benchdb_write"
READ_YOUR_WRITES_WAIT = 10.0  # seconds a read waits for the snapshot holding the client's write


@dataclass
class Settings:
    db: Path
    tokens: tuple[str, ...] = ()
    auth_reads: bool = False
    cors_origins: tuple[str, ...] = ()
    spool_dir: Path | None = None
    snapshot_dir: Path | None = None
    snapshot_interval: float = 1.0
    write_wait: float = 2.0  # how long a POST waits for a free writer's commit before 202
    query_row_limit: int = 10_000
    query_time_limit: float = 5.0
    query_slots: int = 4  # /query requests running at once; more are answered 429
    query_memory_mb: int = 1024  # what one query's worker process may grow by
    extra: dict = field(default_factory=dict)
    # The Host header values accepted (a DNS-rebinding page sends its own); None: any.
    allowed_hosts: tuple[str, ...] | None = None
    # Called (with the database free of this process's writer) after stored writes, at most
    # once per snapshot interval: `benchdb serve` records them in the Dagster catalog.
    after_write: Callable[[], None] | None = None

    @property
    def spool(self) -> Path:
        return self.spool_dir or spool_dir_for(self.db)

    @property
    def snapshots(self) -> Path:
        return self.snapshot_dir or beside(self.db) / ".api-snapshots"


class JSON(Response):
    """orjson: fast, and NaN or infinity become null."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def create_app(settings: Settings) -> FastAPI:
    """The application; the writer and snapshot threads live as long as it serves."""
    db_lock = threading.Lock()
    queries = QueryWorkers(
        settings.query_slots,
        Limits(
            rows=settings.query_row_limit,
            seconds=settings.query_time_limit,
            answer_bytes=safe_query.MAX_ANSWER_BYTES,
            memory_bytes=settings.query_memory_mb * 2**20,
        ),
        lake=is_lake(settings.db),
    )
    spool_folder = settings.spool  # resolved once, not per request
    wake = threading.Event()
    writer = Writer(settings.db, db_lock, on_stored=wake.set)
    snapshots = Snapshots(
        settings.db, settings.snapshots, db_lock, settings.snapshot_interval, commits=lambda: writer.commits
    )
    # Read your writes: a 201 carries this server's name and the writer's batches committed
    # so far (a cookie, so a client with a cookie jar needs to do nothing, and a header); a
    # read that brings it back is answered from a snapshot that holds them. Another server
    # process (a restart) has another name, and its first snapshot holds every earlier write.
    instance = uuid.uuid4().hex[:12]
    stopping = threading.Event()

    def refresher() -> None:
        while not stopping.is_set():
            stored = wake.wait(settings.snapshot_interval) and not stopping.is_set()
            wake.clear()
            try:
                snapshots.refresh(force=snapshots.age_seconds is None)
                if stored and settings.after_write:
                    with db_lock:
                        settings.after_write()
            except Exception:  # noqa: BLE001 — a failed snapshot must not stop the server
                log.exception("publishing a snapshot failed")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with session(settings.db) as con:
            ensure_schema(con)
        try:
            snapshots.refresh(force=True)
        except DatabaseConnectionError as exc:
            log.warning("no snapshot yet (%s); reads answer 503 until the database is free", exc)
        writer.start()
        thread = threading.Thread(target=refresher, name="benchdb-snapshots", daemon=True)
        thread.start()
        yield
        stopping.set()
        wake.set()
        writer.stop()
        queries.close()
        thread.join(10)
        snapshots.close()

    app = FastAPI(
        title="benchdb",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JSON,
        description="Benchmark results: store them with provenance, read them back.",
    )
    app.add_middleware(BodyLimit, limit_for=lambda path: MAX_UPLOAD if path == "/results" else MAX_BODY)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> Response:
        """422 naming the field; the echoed input is ASCII-escaped, so text that is not valid
        Unicode (a lone surrogate) is shown, not a crash."""
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True, default=str)
        return Response(body, status_code=422, media_type="application/json")

    if settings.allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", WRITE_HEADER],
        )
    bearer = HTTPBearer(auto_error=False)

    def _authorised(credentials: HTTPAuthorizationCredentials | None) -> None:
        if not settings.tokens:
            raise HTTPException(403, "writes are disabled: no tokens are configured (BENCHDB_API_TOKENS)")
        given = credentials.credentials.encode() if credentials else b""
        if not any(hmac.compare_digest(given, token.encode()) for token in settings.tokens):
            raise HTTPException(
                401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )

    # Dependencies that never block are coroutines: FastAPI runs a plain function in a worker
    # thread, a hand-over that costs more than the check itself.
    async def writer_auth(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        _authorised(credentials)

    async def reader_auth(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> None:
        if settings.auth_reads:
            _authorised(credentials)
        name, _, seen = (
            request.headers.get(WRITE_HEADER) or request.cookies.get(WRITE_COOKIE) or ""
        ).partition(":")
        if (
            name == instance
            and seen.isdigit()
            and not await run_in_threadpool(snapshots.wait_for, int(seen), READ_YOUR_WRITES_WAIT)
        ):
            raise HTTPException(
                503,
                "the snapshot that holds your last write is not published yet",
                headers={"Retry-After": "1"},
            )

    async def page(
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    ) -> dict:
        return {"limit": limit, "offset": offset}

    def read(work: Callable[[Any], T], response: Response) -> T:
        try:
            with snapshots.cursor() as cursor:
                result = work(cursor)
        except DatabaseConnectionError as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from None
        age = snapshots.age_seconds
        response.headers["X-Benchdb-Snapshot-Age"] = f"{age:.3f}"
        return result

    def store(kind: str, body: RecordIn, request: Request, response: Response, key: str | None) -> dict:
        client = request.client.host if request.client else None
        return commit(
            lambda: spool(spool_folder, kind, body.record(), idempotency_key=key, client=client), response
        )

    def commit(write: Callable[[], Submission], response: Response) -> dict:
        """Spool (validating first), hand to the writer, answer 201 or 202."""
        try:
            submission = write()
        except InvalidRecord as exc:
            raise HTTPException(
                422,
                [{"loc": ["body", f or "record"], "msg": r, "type": "value_error"} for f, r in exc.problems],
            ) from None
        except IdempotencyConflict as exc:
            raise HTTPException(422, str(exc)) from None
        except SpoolUnwritable as exc:  # not stored, nothing left behind: retry later
            raise HTTPException(507, str(exc), headers={"Retry-After": "30"}) from None
        # Wait for the commit only when the writer is free: under load the record joins the
        # next batch and the answer (202) does not wait for it.
        busy = writer.busy
        future = writer.submit(submission.path, submission.parsed)
        try:
            status = SPOOLED if busy else future.result(timeout=settings.write_wait)
        except FutureTimeout:
            status = SPOOLED
        except Exception:  # noqa: BLE001 — durable in the spool all the same
            status = SPOOLED
        if status == QUARANTINED:  # not reachable for a validated record, but never hidden
            raise HTTPException(422, f"the record was refused at ingestion ({submission.path})")
        response.status_code = 201 if status == STORED else 202
        if status == STORED:
            token = f"{instance}:{writer.commits}"
            response.headers[WRITE_HEADER] = token
            response.set_cookie(WRITE_COOKIE, token, httponly=True, samesite="strict")
        return {"id": submission.request_id, "status": status, "replay": submission.replay}

    writes: dict[int | str, dict[str, Any]] = {
        201: {"model": Stored},
        202: {"model": Stored},
        401: {},
        403: {},
        422: {},
    }
    idempotency = Header(default=None, alias="Idempotency-Key", max_length=200)

    def dashboard_read(work: Callable[[Any], T]) -> T:
        with snapshots.cursor() as cursor:
            return work(cursor)

    def dashboard_write(work: Callable[[Any], object]) -> None:
        """A write from a dashboard form, then a snapshot that holds it: the page it returns
        to shows it."""
        with db_lock, session(settings.db) as con:
            work(con)
        snapshots.refresh(force=True, wait=True)

    app.include_router(
        dashboard.router(
            dashboard.Context(
                settings.tokens,
                settings.auth_reads,
                dashboard_read,
                dashboard_write,
                lambda: snapshots.published,
            )
        )
    )

    @app.get("/", tags=["service"])
    def root(request: Request) -> Any:
        """The service's description; a browser is sent to the dashboard."""
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/ui", 307)
        return {
            "name": "benchdb",
            "version": __version__,
            "docs": "/docs",
            "openapi": "/openapi.json",
            "endpoints": sorted({route.path for route in app.routes if isinstance(route, Route)}),
        }

    @app.get("/health", tags=["service"])
    def health(response: Response) -> dict:
        age = snapshots.age_seconds
        spool = spool_problem(spool_folder)
        if spool:
            response.status_code = 503  # writes would fail: not healthy, say why
        return {
            "status": "ok" if age is not None and not spool else ("degraded" if spool else "starting"),
            "schema_version": SCHEMA_VERSION,
            "snapshot_age_seconds": age,
            "pending_writes": writer.pending,
            "spool": spool or "writable",
        }

    def record_endpoint(kind: str, model: type) -> None:
        """POST /<kind>: one record of that kind (the body model documents its fields)."""

        # FastAPI reads the body's type from the annotation at run time: a type per endpoint.
        def post(body: model, request: Request, response: Response, key: str | None = idempotency) -> dict:  # type: ignore[valid-type]
            return store(kind, body, request, response, key)

        app.post(
            f"/{kind}",
            status_code=201,
            responses=writes,
            response_model=Stored,
            name=f"post_{kind}",
            dependencies=[Depends(writer_auth)],
            tags=[kind],
        )(post)

    for kind, model in (
        ("performance", PerformanceIn),
        ("compatibility", CompatibilityIn),
        ("integration", IntegrationIn),
    ):
        record_endpoint(kind, model)

    @app.post(
        "/results",
        status_code=201,
        responses=writes,
        response_model=Stored,
        dependencies=[Depends(writer_auth)],
        tags=["results"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "description": "A result file in any supported format: "
                            "the canonical document, pytest-benchmark, Google Benchmark, hyperfine, …",
                        }
                    }
                },
            }
        },
    )
    async def post_results(request: Request, response: Response, key: str | None = idempotency) -> dict:
        """Store a whole result file as its producer wrote it (the same adapters as ingestion)."""
        data = await request.body()  # at most MAX_UPLOAD: BodyLimit refuses more unread
        return await run_in_threadpool(
            commit, lambda: spool_file(spool_folder, data, idempotency_key=key), response
        )

    @app.get(
        "/performance", response_model=PageOut, dependencies=[Depends(reader_auth)], tags=["performance"]
    )
    def get_performance(
        response: Response,
        paging: Annotated[dict, Depends(page)],
        model: str | None = None,
        hardware: str | None = None,
        device: str | None = None,
        batch_size: Annotated[int | None, Query(ge=1)] = None,
        precision: str | None = None,
        test_case: str | None = None,
        since: datetime | None = None,
        latest_only: bool = False,
    ):
        filters = Filters(
            model=model,
            hardware=hardware,
            device=device,
            batch_size=batch_size,
            precision=precision,
            test_case=test_case,
            since=since and since.replace(tzinfo=None),
        )
        return _listing(response, lambda c: reads.performance(c, filters, latest_only=latest_only, **paging))

    @app.get(
        "/compatibility", response_model=PageOut, dependencies=[Depends(reader_auth)], tags=["compatibility"]
    )
    def get_compatibility(
        response: Response,
        paging: Annotated[dict, Depends(page)],
        model: str | None = None,
        hardware: str | None = None,
    ):
        return _listing(response, lambda c: reads.compatibility(c, model=model, hardware=hardware, **paging))

    @app.get(
        "/integration", response_model=PageOut, dependencies=[Depends(reader_auth)], tags=["integration"]
    )
    def get_integration(
        response: Response,
        paging: Annotated[dict, Depends(page)],
        test_module: str | None = None,
        status: str | None = None,
    ):
        return _listing(
            response, lambda c: reads.integration(c, test_module=test_module, status=status, **paging)
        )

    @app.get("/hardware", response_model=PageOut, dependencies=[Depends(reader_auth)], tags=["catalog"])
    def get_hardware(
        response: Response, paging: Annotated[dict, Depends(page)], hardware_type: str | None = None
    ):
        return _listing(response, lambda c: reads.hardware(c, hardware_type=hardware_type, **paging))

    @app.get("/models", response_model=PageOut, dependencies=[Depends(reader_auth)], tags=["catalog"])
    def get_models(response: Response, paging: Annotated[dict, Depends(page)], family: str | None = None):
        return _listing(response, lambda c: reads.models(c, family=family, **paging))

    @app.get("/runs", response_model=PageOut, dependencies=[Depends(reader_auth)], tags=["catalog"])
    def get_runs(
        response: Response,
        paging: Annotated[dict, Depends(page)],
        test_type: str | None = None,
        simulated: bool | None = None,
    ):
        return _listing(response, lambda c: reads.runs(c, test_type=test_type, simulated=simulated, **paging))

    def _listing(response: Response, work: Callable) -> JSON:
        """A page of a listing; a filter value the rules cannot normalise is a 422."""
        try:
            body = read(lambda c: work(c).body(), response)
        except ValueError as exc:  # raised by the rules' normalisers, before any query runs
            raise HTTPException(422, str(exc)) from None
        return JSON(body, headers=dict(response.headers))

    @app.post(
        "/query",
        response_model=QueryOut,
        dependencies=[Depends(reader_auth)],
        tags=["query"],
        responses={
            400: {"description": "Not a single read-only SELECT, or over a limit."},
            429: {"description": "As many queries as the server runs at once are running."},
        },
    )
    def post_query(body: QueryIn, response: Response):
        limit = min(body.limit or settings.query_row_limit, settings.query_row_limit)
        try:
            check_limits({"sql": body.sql, "params": body.params})
        except InvalidRecord as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            safe_query.check(body.sql)  # refused here, before it takes a slot
            with snapshots.lease() as snapshot:
                result = queries.run(snapshot, body.sql, body.params, limit)
        except Busy as exc:  # the other endpoints keep their threads
            raise HTTPException(429, str(exc), headers={"Retry-After": "1"}) from None
        except safe_query.Refused as exc:
            raise HTTPException(400, str(exc)) from None
        except DatabaseConnectionError as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from None
        response.headers["X-Benchdb-Snapshot-Age"] = f"{snapshots.age_seconds:.3f}"
        return JSON(
            {"columns": result.columns, "rows": result.rows, "truncated": result.truncated},
            headers=dict(response.headers),
        )

    app.state.settings, app.state.writer, app.state.snapshots = settings, writer, snapshots
    return app
