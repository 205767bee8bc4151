"""The HTTP face of the aggregator: feeds, a JSON API, two HTML pages, health and metrics.

``create_app`` wires routes to a ``ClusterReader`` (the store, in production) and to the
pure renderers. The app holds no state of its own; every response is computed from what
the reader returns. Every response carries a strict Content-Security-Policy: the pages
contain no script and load nothing from anywhere.
"""

# No "from __future__ import annotations" here: FastAPI reads the endpoint annotations at
# runtime, and the ``Depends(...)`` inside them refer to local variables of the factories.
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Protocol
from urllib.parse import urljoin

import prometheus_client
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from aggregator import __version__
from aggregator.outputs import schema
from aggregator.outputs.feed import Channel, render_atom, render_json, render_rss
from aggregator.outputs.httpkit import (
    ERROR_RESPONSES,
    NOT_FOUND_RESPONSES,
    DocumentedApp,
    SafeJSONResponse,
    SecurityHeaders,
    add_error_handlers,
    conditional_response,
    error_response,
)
from aggregator.outputs.pages import render_cluster_page, render_index, render_not_found
from aggregator.outputs.params import (
    SINCE_HELP,
    BadParameter,
    ClusterFilters,
    effective_limit,
    parse_since,
)
from aggregator.outputs.serialize import article_to_dict, cluster_to_dict, feed_status_to_dict
from aggregator.settings import HttpSettings
from aggregator.types import ArticleView, ClusterView, FeedStatusView

#: Stories on the HTML index when ``?limit=`` is not given: enough for a screenful of
#: recent coverage, small enough that the page (one SVG per story) stays light.
PAGE_ITEMS = 50
#: The API lists the same window as ``aggregator clusters list`` by default.
API_DEFAULT_SINCE = "7d"
API_DEFAULT_LIMIT = 100


class ClusterReader(Protocol):
    """What the web app needs from the store. Methods are sync: FastAPI runs sync
    endpoints in a thread pool, so a blocking database call never stalls the event loop."""

    def list_clusters(
        self,
        *,
        since: datetime | None,
        outlet: str | None,
        min_size: int,
        limit: int | None,
        query: str | None,
        with_members: bool,
    ) -> list[ClusterView]:
        """Clusters matching the filters, newest activity first."""
        ...

    def get_cluster(self, cluster_id: int) -> ClusterView | None:
        """One cluster with its members filled, or None."""
        ...

    def get_article(self, article_id: int) -> ArticleView | None:
        """One article, or None."""
        ...

    def feed_statuses(self) -> list[FeedStatusView]:
        """Every configured feed's fetch state."""
        ...

    def ping(self) -> None:
        """Return when the database answers; raise otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class _Context:
    reader: ClusterReader
    settings: HttpSettings
    channel: Channel
    clock: Callable[[], datetime]


def create_app(
    reader: ClusterReader,
    *,
    settings: HttpSettings,
    channel: Channel,
    registry: prometheus_client.CollectorRegistry | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the web app serving ``reader``'s clusters; ``clock`` defaults to UTC now."""
    ctx = _Context(reader, settings, channel, clock or (lambda: datetime.now(UTC)))
    app = DocumentedApp(
        title="aggregator",
        version=__version__,
        description="Story clusters across news outlets: who reported first, who copied "
        "whom, who credits whom.",
        docs_url=None,  # Swagger UI and ReDoc need scripts, which the CSP forbids.
        redoc_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.add_middleware(SecurityHeaders)
    add_error_handlers(app)
    _add_feed_routes(app, ctx)
    _add_api_routes(app, ctx)
    _add_page_routes(app, ctx)
    _add_ops_routes(app, ctx, registry)
    return app


# --- filters ---------------------------------------------------------------------------------


def _filters(
    ctx: _Context, *, default_since: str, default_limit: int
) -> Callable[..., ClusterFilters]:
    """Return a FastAPI dependency reading the listing filters from the query string."""

    def dependency(
        q: Annotated[str | None, Query(max_length=500, description="text to match")] = None,
        outlet: Annotated[
            str | None, Query(max_length=200, description="only clusters this outlet carried")
        ] = None,
        min_size: Annotated[int, Query(ge=1, description="minimum articles per cluster")] = 1,
        limit: Annotated[
            int | None, Query(ge=0, description="most clusters to return; 0 = the maximum")
        ] = None,
        since: Annotated[str, Query(max_length=64, description=SINCE_HELP)] = default_since,
    ) -> ClusterFilters:
        try:
            cutoff = parse_since(since, ctx.clock())
        except ValueError as exc:
            raise BadParameter("since", str(exc)) from None
        return ClusterFilters(
            since=cutoff,
            outlet=(outlet.strip() or None) if outlet else None,
            min_size=min_size,
            limit=effective_limit(limit, default_limit),
            query=(q.strip() or None) if q else None,
            since_text=since,
        )

    return dependency


def _list(ctx: _Context, filters: ClusterFilters, *, with_members: bool) -> list[ClusterView]:
    return ctx.reader.list_clusters(
        since=filters.since,
        outlet=filters.outlet,
        min_size=filters.min_size,
        limit=filters.limit,
        query=filters.query,
        with_members=with_members,
    )


# --- feeds -----------------------------------------------------------------------------------

_FEEDS: tuple[tuple[str, Callable[[Sequence[ClusterView], Channel], bytes], str, str], ...] = (
    ("feed.xml", render_rss, "application/rss+xml; charset=utf-8", "RSS 2.0"),
    ("feed.atom", render_atom, "application/atom+xml; charset=utf-8", "Atom 1.0"),
    ("feed.json", render_json, "application/feed+json; charset=utf-8", "JSON Feed 1.1"),
)


def _add_feed_routes(app: FastAPI, ctx: _Context) -> None:
    filters = _filters(ctx, default_since="all", default_limit=ctx.settings.feed_items)
    for name, render, media_type, label in _FEEDS:
        # Each feed names itself: the self link is the configured one, re-pointed per format.
        channel = replace(ctx.channel, self_url=urljoin(ctx.channel.self_url, name))
        app.add_api_route(
            f"/{name}",
            _feed_endpoint(ctx, filters, render, channel, media_type),
            methods=["GET"],
            name=name.replace(".", "_"),
            operation_id=name.replace(".", "_"),
            summary=f"Story clusters as {label}",
            description=f"One item per story cluster, newest activity first ({label}).",
            response_class=Response,
            responses={200: {"content": {media_type.split(";")[0]: {}}}, **ERROR_RESPONSES},
            tags=["feeds"],
        )


def _feed_endpoint(
    ctx: _Context,
    filters: Callable[..., ClusterFilters],
    render: Callable[[Sequence[ClusterView], Channel], bytes],
    channel: Channel,
    media_type: str,
) -> Callable[..., Response]:
    def endpoint(request: Request, chosen: Annotated[ClusterFilters, Depends(filters)]) -> Response:
        body = render(_list(ctx, chosen, with_members=True), channel)
        return conditional_response(request, body, media_type)

    return endpoint


# --- JSON API --------------------------------------------------------------------------------


def _add_api_routes(app: FastAPI, ctx: _Context) -> None:
    filters = _filters(ctx, default_since=API_DEFAULT_SINCE, default_limit=API_DEFAULT_LIMIT)

    @app.get(
        "/api/clusters",
        response_model=schema.ClusterListOut,
        summary="List story clusters",
        description="Clusters matching the filters, newest activity first "
        f"(defaults: since={API_DEFAULT_SINCE}, min_size=1, limit={API_DEFAULT_LIMIT}).",
        responses=ERROR_RESPONSES,
        tags=["api"],
    )
    def list_clusters(
        chosen: Annotated[ClusterFilters, Depends(filters)],
        members: Annotated[bool, Query(description="include each cluster's members")] = False,
    ) -> Response:
        clusters = _list(ctx, chosen, with_members=members)
        return SafeJSONResponse({"clusters": [cluster_to_dict(c) for c in clusters]})

    @app.get(
        "/api/clusters/{cluster_id}",
        response_model=schema.ClusterOut,
        summary="One story cluster with its members",
        responses=NOT_FOUND_RESPONSES,
        tags=["api"],
    )
    def get_cluster(cluster_id: Annotated[int, Path(ge=1)]) -> Response:
        cluster = ctx.reader.get_cluster(cluster_id)
        if cluster is None:
            return error_response(404, "not_found", f"cluster {cluster_id} does not exist")
        return SafeJSONResponse(cluster_to_dict(cluster))

    @app.get(
        "/api/articles/{article_id}",
        response_model=schema.ArticleOut,
        summary="One article with its cluster and provenance fields",
        responses=NOT_FOUND_RESPONSES,
        tags=["api"],
    )
    def get_article(article_id: Annotated[int, Path(ge=1)]) -> Response:
        article = ctx.reader.get_article(article_id)
        if article is None:
            return error_response(404, "not_found", f"article {article_id} does not exist")
        return SafeJSONResponse(article_to_dict(article))

    @app.get(
        "/api/feeds",
        response_model=schema.FeedListOut,
        summary="Fetch state of every feed",
        tags=["api"],
    )
    def feed_statuses() -> Response:
        feeds = [feed_status_to_dict(f) for f in ctx.reader.feed_statuses()]
        return SafeJSONResponse({"feeds": feeds})


# --- HTML pages ------------------------------------------------------------------------------


def _add_page_routes(app: FastAPI, ctx: _Context) -> None:
    filters = _filters(ctx, default_since="all", default_limit=PAGE_ITEMS)

    @app.get(
        "/",
        response_class=HTMLResponse,
        summary="Web page of current story clusters",
        responses=ERROR_RESPONSES,
        tags=["pages"],
    )
    def index(chosen: Annotated[ClusterFilters, Depends(filters)]) -> HTMLResponse:
        clusters = _list(ctx, chosen, with_members=True)
        return HTMLResponse(render_index(clusters, channel=ctx.channel, filters=chosen))

    @app.get(
        "/clusters/{cluster_id}",
        response_class=HTMLResponse,
        summary="Web page of one story cluster with its coverage timeline",
        responses={404: {"description": "no such cluster"}},
        tags=["pages"],
    )
    def cluster_page(cluster_id: Annotated[int, Path(ge=1)]) -> HTMLResponse:
        cluster = ctx.reader.get_cluster(cluster_id)
        if cluster is None:
            page = render_not_found(f"There is no story {cluster_id}.", channel=ctx.channel)
            return HTMLResponse(page, status_code=404)
        return HTMLResponse(render_cluster_page(cluster, channel=ctx.channel))


# --- operations ------------------------------------------------------------------------------


def _add_ops_routes(
    app: FastAPI, ctx: _Context, registry: prometheus_client.CollectorRegistry | None
) -> None:
    @app.get(
        "/healthz",
        response_model=schema.HealthOut,
        summary="Liveness and database reachability",
        responses={503: {"model": schema.HealthOut}},
        tags=["operations"],
    )
    def healthz() -> Response:
        try:
            ctx.reader.ping()
        except Exception as exc:  # any failure to answer means "not healthy", never a 500
            body = {"status": "unavailable", "error": type(exc).__name__}
            return SafeJSONResponse(body, status_code=503)
        return SafeJSONResponse({"status": "ok"})

    @app.get(
        "/metrics",
        response_class=Response,
        summary="Prometheus metrics",
        responses={200: {"content": {"text/plain": {}}}, 404: {"model": schema.ErrorOut}},
        tags=["operations"],
    )
    def metrics() -> Response:
        if registry is None:
            return error_response(404, "not_found", "metrics are not enabled in this process")
        output = bytes(prometheus_client.generate_latest(registry))
        return Response(output, media_type=prometheus_client.CONTENT_TYPE_LATEST)
