"""What operators see of a worker process: JSON logs with request ids and no student data,
the SDK's Prometheus metrics, and a readiness probe that follows the worker and the server."""

from __future__ import annotations

import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from infra.observability import JsonFormatter
from tests.support.e2e import Stack, district_toml, local_today, running
from tests.support.ports import free_port
from tests.support.waiting import CEILING, until


def test_a_json_line_carries_the_request_id_and_the_error() -> None:
    record = logging.LogRecord("temporalio.activity", logging.WARNING, __file__, 1,
                               "notice %s undelivered", ("REQ-1:receipt:1",), None)
    record.temporal_activity = {"workflow_id": "REQ-1", "activity_type": "send_notice"}
    try:
        raise ConnectionRefusedError("smtp down")
    except ConnectionRefusedError:
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "REQ-1" and line["type"] == "send_notice"
    assert line["level"] == "WARNING" and line["message"] == "notice REQ-1:receipt:1 undelivered"
    assert "smtp down" in line["error"]


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (ConnectionError, urllib.error.URLError) as error:
        return 0, str(error)


def _until(port: int, path: str, status: int, seconds: float = CEILING) -> str:
    answers: list[tuple[int, str]] = []

    def answered() -> bool:
        answers[:] = [_get(port, path)]
        return answers[0][0] == status

    until(f"{path} to answer {status}", answered, seconds, every=0.2,
          detail=lambda: f"(it answered {answers[0][0]} {answers[0][1]!r})" if answers else "")
    return answers[0][1]


@pytest.mark.e2e
def test_worker_logs_metrics_and_readiness(tmp_path: Path) -> None:
    (tmp_path / "districts").mkdir()
    today = local_today()
    (tmp_path / "districts" / "testdistrict.toml").write_text(district_toml(today))
    metrics, health = free_port(), free_port()
    extra = {"TRANSFERS_METRICS_PORT": str(metrics), "TRANSFERS_HEALTH_PORT": str(health),
             "TRANSFERS_LOG_FORMAT": "json"}
    with running(tmp_path, None, extra_env=extra) as stack_:
        assert _until(health, "/healthz", 200) == "ready"
        assert _get(health, "/other")[0] == 404
        stack = Stack(stack_.env, stack_.inbox, tmp_path, f"{today.year}-{today.year + 1}")
        request_id = stack.submit("S-OBS-1", student={"first_name": "Zenobia",
                                                      "last_name": "Quixotica"})

        # The SDK's metrics, by the names the README tells operators to watch.
        text = _until(metrics, "/metrics", 200)
        for name in ("temporal_workflow_task_schedule_to_start_latency",
                     "temporal_activity_schedule_to_start_latency",
                     "temporal_worker_task_slots_available"):
            assert name in text, name

        # The server goes away: the worker is not ready; it comes back: ready again.
        stack_.stop_server()
        _until(health, "/healthz", 503)
        stack_.start_server()
        _until(health, "/healthz", 200, seconds=60)

        worker = stack_.workers[0]
        worker.terminate()
        worker.wait(timeout=30)
        assert _get(health, "/healthz")[0] in (0, 503)  # closed with the worker

    lines = (tmp_path / "worker-0.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is JSON
    # The worker process runs on the default event loop (TRANSFERS_EVENT_LOOP, worker.py).
    assert any(e["message"] == "worker polling task queue transfers on the uvloop event loop"
               for e in entries), entries[:10]
    mine = [e for e in entries if e.get("request_id") == request_id]
    assert any(e["message"].startswith("recorded submitted") for e in mine), entries[-5:]
    log = "\n".join(lines)
    assert "Zenobia" not in log and "Quixotica" not in log
