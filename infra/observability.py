"""What operators see of a worker: its logs, its metrics and whether it is ready.

- Logs: ``TRANSFERS_LOG_FORMAT=json`` writes one JSON object per line, with the request id
  (the workflow id) and the workflow or activity type the SDK attaches to each record, and
  the SDK core's own logs forwarded into the same stream. The project logs ids, never names:
  no student data goes to a log.
- Metrics: ``TRANSFERS_METRICS_PORT`` serves the SDK's Prometheus metrics (``/metrics``).
- Readiness: ``TRANSFERS_HEALTH_PORT`` serves ``GET /healthz``: 200 while the worker polls
  and the Temporal server answers, 503 before, while shutting down, or when the server does
  not answer; an orchestrator routes nothing to it and restarts it on repeated failures.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from infra.settings import Settings

# The SDK's record extras that identify a workflow or an activity (never its payloads).
_TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _TEMPORAL_EXTRAS:
            extra = getattr(record, key, None)
            if isinstance(extra, dict):
                # Workflow ids are request, permit or lottery ids (a permit's activity too).
                entry["request_id"] = extra.get("workflow_id")
                kind = extra.get("workflow_type") or extra.get("activity_type")
                entry["type"] = kind
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
        # The extras carry the ids already: keep the message itself clean.
        from temporalio import activity, workflow

        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def runtime(settings: Settings) -> Runtime | None:
    """The SDK runtime with metrics on the configured port and, in JSON mode, the core's logs
    forwarded to Python's logging; None (the SDK's default runtime) when neither is asked."""
    if settings.metrics_port is None and settings.log_format != "json":
        return None
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=(
            LogForwardingConfig(logger=logging.getLogger("temporalio.core"))
            if settings.log_format == "json" else None
        ),
    )
    metrics = (
        PrometheusConfig(bind_address=f"0.0.0.0:{settings.metrics_port}")
        if settings.metrics_port is not None else None
    )
    return Runtime(telemetry=TelemetryConfig(logging=logging_config, metrics=metrics))


class Readiness:
    """``GET /healthz`` on a port: ready while ``ready`` is set and ``probe`` succeeds."""

    def __init__(self, port: int, probe: Callable[[], Awaitable[object]]) -> None:
        self.port = port
        self.ready = asyncio.Event()
        self._probe = probe
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "0.0.0.0") -> None:
        self._server = await asyncio.start_server(self._answer, host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            parts = request.decode("latin-1").split()
            if len(parts) < 2 or parts[1] != "/healthz":
                status, body = "404 Not Found", "not found: the probe is GET /healthz"
            elif not self.ready.is_set():
                status, body = "503 Service Unavailable", "not ready: the worker is not polling"
            else:
                status, body = await self._check()
            payload = body.encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _check(self) -> tuple[str, str]:
        try:
            await asyncio.wait_for(self._probe(), 5)
        except Exception as error:  # any failure to reach the server means "not ready"
            return "503 Service Unavailable", f"the Temporal server does not answer: {error}"
        return "200 OK", "ready"
