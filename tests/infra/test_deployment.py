"""The production stack (docker-compose.yml, Dockerfile, deploy/) checked against the code.

No Docker engine runs here, so the stack is never started: what can drift from the code is
checked instead. The README's Production section names the compose services; the worker's
environment is what `settings` reads and parses; the namespace job registers exactly
`search_attributes.ATTRIBUTES` (run for real against the dev server); every command the image
runs exists in the CLI; and `docker-compose config` accepts the file when it is installed."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from infra import settings
from infra.codec import encryption_codec
from infra.settings import find_binary
from models.search_attributes import ATTRIBUTES
from tests.support import servers
from tests.support.paths import ROOT
from tests.support.ports import closed_port, free_port

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
PROJECT_IMAGE = SERVICES["worker"]["image"]
EXAMPLE_ENV = ROOT / "deploy" / "example.env"

REQUIRED_WORKER_VARIABLES = {
    "TRANSFERS_DATABASE_URL", "TRANSFERS_SMTP_HOST", "TRANSFERS_SMTP_PORT",
    "TRANSFERS_HEALTH_PORT", "TRANSFERS_METRICS_PORT", "TRANSFERS_LOG_FORMAT",
    "TRANSFERS_ENCRYPTION_KEYS", "TRANSFERS_ENCRYPTION_KEY_ID",
    "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE",
}


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


_VARIABLE = re.compile(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}")


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, enough for this file."""

    def one(match: re.Match[str]) -> str:
        name, kind, argument = match.groups()
        if env.get(name):
            return env[name]
        if kind == ":?":
            raise KeyError(f"{name}: {argument}")
        return argument if kind == ":-" else ""

    return _VARIABLE.sub(one, value)


def _environment(service: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment, interpolated with the example env file."""
    raw = SERVICES[service].get("environment", {})
    assert isinstance(raw, dict), f"{service}: environment as a mapping, please"
    env = _env_file(EXAMPLE_ENV) if env is None else env
    return {key: _interpolate(str(value), env) for key, value in raw.items()}


def _command(service: str) -> list[str]:
    command = SERVICES[service].get("command")
    return command if isinstance(command, list) else str(command).split()


# ---- the README names exactly the services ---------------------------------------------


def _production_section() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Production\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md has no '## Production' section"
    return match.group(1)


def test_the_readme_names_exactly_the_compose_services():
    table_rows = re.findall(r"^\| `([a-z0-9-]+)` \|", _production_section(), re.M)
    assert len(table_rows) == len(set(table_rows))
    assert set(table_rows) == set(SERVICES)


# ---- the worker's environment is what the code reads ------------------------------------


def test_project_services_set_only_variables_the_code_reads():
    project = [name for name, s in SERVICES.items() if s.get("image") == PROJECT_IMAGE]
    assert {"worker", "migrate", "codec-server", "web", "portal"} <= set(project)
    for name in project:
        own = {key for key in _environment(name) if key.startswith("TRANSFERS_")}
        unknown = own - set(settings.ENVIRONMENT)
        assert not unknown, f"{name} sets {unknown}, which settings.ENVIRONMENT does not list"


def test_the_worker_has_the_variables_it_needs_and_they_parse(monkeypatch):
    env = _environment("worker")
    assert set(env) >= REQUIRED_WORKER_VARIABLES
    for key in env:
        monkeypatch.setenv(key, env[key])
    loaded = settings.load_settings()  # ports are ports, the log format is known
    assert loaded.log_format == "json"
    assert loaded.health_port and loaded.metrics_port and loaded.health_port != loaded.metrics_port
    assert encryption_codec(env) is not None  # the example key is a valid key

    url = urlsplit(env["TRANSFERS_DATABASE_URL"])
    assert url.scheme == "postgresql+psycopg"
    assert (url.hostname, url.port, url.path) == ("postgresql", 5432, "/transfers")
    assert url.username == "transfers"
    assert env["TRANSFERS_DATABASE_URL"] == _environment("migrate")["TRANSFERS_DATABASE_URL"]

    assert (loaded.smtp_host, loaded.smtp_port) == ("mailpit", 1025)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["TEMPORAL_NAMESPACE"] == _environment("temporal-create-namespace")[
        "TEMPORAL_NAMESPACE"]


def test_the_worker_connects_through_temporal_envconfig():
    from temporalio.envconfig import ClientConfig

    env = {k: v for k, v in _environment("worker").items() if k.startswith("TEMPORAL_")}
    config = ClientConfig.load_client_connect_config(override_env_vars=env)
    assert config["target_host"] == "temporal:7233"
    assert config["namespace"] == env["TEMPORAL_NAMESPACE"]


def test_the_worker_scales_and_waits_for_its_prerequisites():
    worker = SERVICES["worker"]
    assert worker["deploy"]["replicas"] == 2
    # Replicas cannot share a container name or a published host port.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert (worker["depends_on"]["temporal-create-namespace"]["condition"]
            == "service_completed_successfully")
    assert (SERVICES["temporal"]["depends_on"]["temporal-admin-tools"]["condition"]
            == "service_completed_successfully")


def test_every_awaited_health_has_a_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name, service in SERVICES.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            if spec.get("condition") != "service_healthy":
                continue
            own = SERVICES[target].get("healthcheck", {})
            from_image = SERVICES[target].get("image") == PROJECT_IMAGE and "HEALTHCHECK" in (
                dockerfile)
            assert (own and not own.get("disable")) or from_image, (
                f"{name} waits for {target} to be healthy, which has no health check")


def test_images_are_pinned():
    for name, service in SERVICES.items():
        image = service["image"]
        if image == PROJECT_IMAGE:
            assert service.get("build"), f"{name} runs the project's image: it builds it"
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: pin {image}"
    server = SERVICES["temporal"]["image"].split(":")[1]
    assert SERVICES["temporal-admin-tools"]["image"].split(":")[1] == server
    assert SERVICES["temporal-create-namespace"]["image"].split(":")[1] == server


def test_the_example_env_file_covers_every_required_secret():
    def strings(node: object) -> list[str]:  # every value of the file, comments aside
        if isinstance(node, dict):
            return [s for value in node.values() for s in strings(value)]
        if isinstance(node, list):
            return [s for value in node for s in strings(value)]
        return [node] if isinstance(node, str) else []

    required = {m.group(1) for value in strings(COMPOSE) for m in _VARIABLE.finditer(value)
                if m.group(2) == ":?"}
    assert {"POSTGRES_PASSWORD", "TRANSFERS_ENCRYPTION_KEYS"} <= required
    assert required <= set(_env_file(EXAMPLE_ENV))
    for name in SERVICES:  # and nothing else is needed to interpolate the file
        _environment(name)
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        _environment("postgresql", env={})


# ---- the databases are kept apart ---------------------------------------------------------


def test_records_database_is_apart_from_temporals():
    records = urlsplit(_environment("worker")["TRANSFERS_DATABASE_URL"])
    temporal = _environment("temporal")
    temporal_databases = {temporal["DBNAME"], temporal["VISIBILITY_DBNAME"]}
    assert temporal_databases == {"temporal", "temporal_visibility"}
    assert records.path.lstrip("/") not in temporal_databases
    assert records.username != temporal["POSTGRES_USER"]
    setup = (ROOT / "deploy" / "temporal" / "setup-schema.sh").read_text()
    assert set(re.findall(r"--db (\w+) create", setup)) == temporal_databases
    init = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    assert "CREATE DATABASE transfers OWNER transfers;" in init
    assert "REVOKE ALL ON DATABASE transfers FROM PUBLIC;" in init


# ---- the commands the image runs exist --------------------------------------------------


def _check_command(argv: list[str]) -> None:
    """argv is a `transfers` command: its subcommands and options exist in the CLI (the click
    tree `transfers --help` prints)."""
    import typer

    from cli import main as starter

    assert argv[0] == "transfers", argv
    command = typer.main.get_command(starter.app)
    words = iter(argv[1:])
    for word in words:
        if word.startswith("-"):
            break
        assert hasattr(command, "commands"), f"{argv}: {command.name} has no subcommands"
        assert word in command.commands, f"{argv}: no `{word}` in `transfers --help`"
        command = command.commands[word]
    assert not hasattr(command, "commands"), f"{argv}: names a group, not a command"
    known = {option for param in command.params for option in param.opts}
    given = {word for word in argv if word.startswith("--")}
    assert given <= known, f"{argv}: {command.name} has no {given - known}"


def test_the_dockerfile_runs_the_worker():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert re.search(r"^RUN pip install ", dockerfile, re.M)
    assert re.search(r"^USER (?!root\b)\w+", dockerfile, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd and "ENTRYPOINT" not in dockerfile
    argv = yaml.safe_load(cmd.group(1))
    assert argv == ["transfers", "worker"]
    _check_command(argv)
    assert re.search(r"^HEALTHCHECK .*healthcheck\.py", dockerfile, re.M | re.S)


@pytest.mark.parametrize("service", ["worker", "migrate", "codec-server", "web"])
def test_compose_commands_exist(service):
    _check_command(_command(service))


def test_the_migrate_job_upgrades_the_records_database():
    assert _command("migrate") == ["transfers", "db", "upgrade"]


def test_the_ui_reaches_the_codec_server():
    ui = _environment("temporal-ui")
    codec = _command("codec-server")
    port = codec[codec.index("--port") + 1]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{port}"
    assert f"127.0.0.1:{port}:{port}" in SERVICES["codec-server"]["ports"]
    ui_port = SERVICES["temporal-ui"]["ports"][0].rsplit(":", 1)[1]
    assert codec[codec.index("--cors-origin") + 1] == f"http://localhost:{ui_port}"


# ---- the namespace job, run against the dev server ------------------------------------


def test_the_namespace_job_lists_exactly_the_search_attributes():
    listed = _environment("temporal-create-namespace")["SEARCH_ATTRIBUTES"].split()
    assert dict(pair.split("=", 1) for pair in listed) == ATTRIBUTES
    assert len(listed) == len(ATTRIBUTES)


@pytest.fixture
def dev_server() -> Iterator[str]:
    ports = ["--http-port", str(free_port()), "--metrics-port", str(free_port())]
    with servers.dev_server(flags=ports) as address:
        yield address


def _run_namespace_job(address: str, tmp_path: Path, **override: str
                       ) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"  # the admin-tools image has `temporal` on PATH
    bin_dir.mkdir(exist_ok=True)
    link = bin_dir / "temporal"
    if not link.exists():
        link.symlink_to(find_binary("temporal"))
    env = {**_environment("temporal-create-namespace"), "TEMPORAL_ADDRESS": address,
           "PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), **override}
    script = ROOT / "deploy" / "temporal" / "create-namespace.sh"
    return subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True,
                          timeout=180)


def test_the_namespace_job_registers_the_search_attributes(dev_server, tmp_path):
    first = _run_namespace_job(dev_server, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    again = _run_namespace_job(dev_server, tmp_path)  # every `up` runs it again
    assert again.returncode == 0, again.stdout + again.stderr

    namespace = _environment("temporal-create-namespace")["TEMPORAL_NAMESPACE"]
    listed = subprocess.run(
        [find_binary("temporal"), "operator", "search-attribute", "list", "--address",
         dev_server, "--namespace", namespace, "--output", "json"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)},
    )
    assert listed.returncode == 0, listed.stderr
    custom = json.loads(listed.stdout)["customAttributes"]
    kinds = {"INDEXED_VALUE_TYPE_KEYWORD": "Keyword", "INDEXED_VALUE_TYPE_DATETIME": "Datetime"}
    assert {name: kinds[kind] for name, kind in custom.items()} == ATTRIBUTES

    # An attribute registered with another type fails the job at once, without retrying.
    conflict = _run_namespace_job(dev_server, tmp_path, SEARCH_ATTRIBUTES="TransferStage=Int")
    assert conflict.returncode == 1
    assert "different type" in conflict.stderr


# ---- the health probe ---------------------------------------------------------------------


@pytest.fixture
def healthz():
    """A /healthz answering the status in ``state["status"]``."""
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(state["status"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], state
    finally:
        server.shutdown()
        server.server_close()


def _probe(*args: str, port: int | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "TRANSFERS_HEALTH_PORT"}
    if port is not None:
        env["TRANSFERS_HEALTH_PORT"] = str(port)
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py"), *args],
                          env=env, capture_output=True, timeout=30).returncode


def test_the_health_probe_follows_the_workers_readiness(healthz):
    port, state = healthz
    assert _probe(port=port) == 0
    state["status"] = 503  # not polling
    assert _probe(port=port) == 1
    assert _probe() == 1  # no port configured: unhealthy, not silently fine
    assert _probe("--tcp", str(port)) == 0
    assert _probe("--tcp", str(closed_port())) == 1


# ---- docker-compose itself ------------------------------------------------------------


def _docker_compose(*args: str, env_file: Path | None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (CI installs Debian's)")
    env = {k: v for k, v in os.environ.items()
           if k not in _env_file(EXAMPLE_ENV) and not k.startswith("COMPOSE_")}
    files = ["-f", str(ROOT / "docker-compose.yml")]
    # An empty env file stands for "no secrets", whatever .env lies beside the file.
    return subprocess.run(
        [binary, *files, "--env-file", str(env_file), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_docker_compose_accepts_the_file():
    result = _docker_compose("config", env_file=EXAMPLE_ENV)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == set(SERVICES)
    assert resolved["services"]["worker"]["deploy"]["replicas"] == 2


def test_docker_compose_refuses_missing_secrets(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _docker_compose("config", "-q", env_file=empty)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr
