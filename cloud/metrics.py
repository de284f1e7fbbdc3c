"""Prometheus metrics of a server process: requests, push mutations, upload bytes, and
the jobs queue's depth (read from the database at each scrape, so any node tells the
fleet's). Several worker processes of one host share their counters when
PROMETHEUS_MULTIPROC_DIR names a folder (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.jobs import queue

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("chairside_http_requests", "HTTP requests answered",
                   ["method", "route", "status"], registry=REGISTRY)
DURATION = Histogram("chairside_http_request_duration_seconds", "Time to answer a request",
                     ["route"], registry=REGISTRY)
PUSH_MUTATIONS = Counter("chairside_push_mutations", "Mutations received in pushes",
                         registry=REGISTRY)
UPLOAD_BYTES = Counter("chairside_upload_bytes", "Image bytes received through uploads",
                       registry=REGISTRY)


def _route(scope: Scope) -> str:
    """The route's template (never the path itself: ids would make endless series)."""
    if scope.get("route") is None:
        return "unmatched"
    path = str(scope["path"])
    for name, value in scope.get("path_params", {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}")
    return path


class Measure:
    """Count and time every HTTP request by method, route and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = _route(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            DURATION.labels(route).observe(time.perf_counter() - started)


class _Jobs:
    def __init__(self, maker: sessionmaker[Session]) -> None:
        self.maker = maker

    def collect(self) -> list[GaugeMetricFamily]:
        with self.maker() as session:
            counts = queue.counts(session)
        family = GaugeMetricFamily("chairside_jobs", "Jobs by status; 'due': queued and due",
                                   labels=["status"])
        for status, n in sorted(counts.items()):
            family.add_metric([status], n)
        return [family]


def render(maker: sessionmaker[Session]) -> tuple[bytes, str]:
    """The scrape's text and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    jobs = CollectorRegistry()
    jobs.register(_Jobs(maker))
    return generate_latest(counters) + generate_latest(jobs), CONTENT_TYPE_LATEST
