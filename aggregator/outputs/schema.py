"""OpenAPI descriptions of the JSON the API returns.

The JSON itself is built by ``serialize`` (the single definition of the contract); these
models only document it in ``/openapi.json``. A test validates real serializer output
against them with ``extra="forbid"``, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RelationName = Literal["original", "copy", "rewrite"]
BasisName = Literal["published", "observed", "credit"]
FeedStateName = Literal["ok", "failing", "disabled"]
ErrorKindName = Literal[
    "timeout",
    "too_large",
    "blocked_destination",
    "too_many_redirects",
    "http_4xx",
    "http_5xx",
    "rate_limited",
    "tls_error",
    "network_error",
    "parse_error",
    "empty_body",
]

_STRICT = ConfigDict(extra="forbid")
_TIME = "ISO-8601 UTC with a Z suffix"


class ArticleOut(BaseModel):
    """One stored article with its cluster and provenance fields (the export record)."""

    model_config = _STRICT
    id: int
    outlet: str = Field(description="display name of the outlet")
    feed_url: str | None
    guid: str | None
    url: str | None
    canonical_url: str | None
    title: str
    published_at: str | None = Field(description=f"the publisher's time, {_TIME}")
    first_seen_at: str = Field(description=f"our first sighting, {_TIME}")
    cluster_id: int | None
    relation: RelationName | None
    similarity: float | None = Field(description="similarity to the cluster's original, 0–1")
    credits: list[str] = Field(description="outlets and sources the article credits")
    author: str | None
    credits_outlet: str | None = Field(description="the outlet this article credits as source")
    at: str | None = Field(description=f"the time provenance trusts, {_TIME}")


class FirstReporterOut(BaseModel):
    """Who reported a story first, and how that was decided."""

    model_config = _STRICT
    outlet: str
    article_id: int
    url: str | None
    at: str = Field(description=_TIME)
    basis: BasisName = Field(description="published, observed, or credit")


class ClusterOut(BaseModel):
    """A story cluster; ``members`` appears when the members were asked for."""

    model_config = _STRICT
    id: int
    title: str = Field(description="title of the original")
    size: int = Field(description="number of articles")
    outlets: list[str] = Field(description="display names, in order of first appearance")
    first_reporter: FirstReporterOut
    credited_source: str | None = Field(
        description="an untracked source the earliest article credits"
    )
    first_seen_at: str = Field(description=_TIME)
    last_seen_at: str = Field(description=_TIME)
    confidence: float = Field(description="confidence in the first reporter, 0–1")
    members: list[ArticleOut] | None = None


class ClusterListOut(BaseModel):
    """A page of clusters, newest activity first."""

    model_config = _STRICT
    clusters: list[ClusterOut]


class FeedStatusOut(BaseModel):
    """One feed's fetch state."""

    model_config = _STRICT
    outlet: str
    feed_url: str
    state: FeedStateName
    last_fetched_at: str | None
    last_status: int | None = Field(description="HTTP status of the last fetch")
    error_kind: ErrorKindName | None
    error_message: str | None
    error_count: int
    next_fetch_at: str | None
    articles: int


class FeedListOut(BaseModel):
    """Every configured feed."""

    model_config = _STRICT
    feeds: list[FeedStatusOut]


class ErrorOut(BaseModel):
    """What every error response carries."""

    model_config = _STRICT
    error: str = Field(description="a short code: bad_request, not_found, …")
    message: str = Field(description="what is wrong, for people")
    parameter: str | None = Field(default=None, description="the offending parameter, if any")


class HealthOut(BaseModel):
    """Liveness and database reachability."""

    model_config = _STRICT
    status: Literal["ok", "unavailable"]
    error: str | None = None
