"""What every operation reaches for: the settings, the records store, Temporal, the
districts' files, the document store, and the roster that gives the acting person's roles.
Read anew for each operation (the environment may change between two, as in the tests); the
settings are reused while nothing they come from has changed."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from app.errors import Refused
from app.principal import Principal
from districts import UnknownDistrictError, load_district, load_within_district
from infra.config_file import config_path
from infra.settings import Settings, load_settings
from models.district import DistrictBase, DistrictConfig
from models.people import Actor
from models.roles import PARENT
from models.within_district_config import WithinDistrictConfig
from store.engine import NoStore, existing_engine

# Temporal's SDK, the proofs' JOSE and the documents are imported where they are used: a
# command that only reads the store starts without them (docs/cross-cutting.md "Settings").
if TYPE_CHECKING:
    from temporalio.client import Client

    from infra.proofs import SigningKey
    from store.documents import DocumentStore


def settings() -> Settings:
    """The settings of a front (without the worker's plaintext cut-over: `worker_settings`).
    Read again whenever what they come from changed (the variables, the settings file, the
    current folder a relative data folder is resolved in), else reused; within `read_once`,
    read once."""
    if _FIXED:
        return _FIXED[0]
    pinned = _PINNED.get()
    if pinned is not None and "settings" in pinned:
        return pinned["settings"]
    key = _settings_sources()
    if not (_SETTINGS and _SETTINGS[0][0] == key):
        try:
            found = load_settings(sealing=False)
        except ValueError as error:  # a variable (or the settings file): its name, the problem
            raise Refused(str(error)) from None
        _SETTINGS[:] = [(key, found)]
    if pinned is not None:
        pinned["settings"] = _SETTINGS[0][1]
    return _SETTINGS[0][1]


_SETTINGS: list[tuple[object, Settings]] = []  # the last settings read, with their sources
_FIXED: list[Settings] = []  # a served front's, read once at its start (`fix_settings`)
# What `read_once` keeps for the operation under way: one dictionary, which the threads the
# operation starts share (they copy the context, and so the reference).
_PINNED: ContextVar[dict[str, Any] | None] = ContextVar("read_once", default=None)


@contextlib.contextmanager
def read_once() -> Iterator[None]:
    """Within it (and in the tasks and threads it starts), the settings and the records
    store's engine are read once, on first use. A front's page asks for each five times, and
    seeing each time whether anything the settings come from had changed (every variable,
    the file, the folder) and whether the store's file was there was a third of a parent's
    status page's CPU. What cannot be read is not kept: each use refuses as it would
    without."""
    token = _PINNED.set({})
    try:
        yield
    finally:
        _PINNED.reset(token)


def fix_settings() -> None:
    """From now on, this process's settings are those read now: a served front's (web/serve.py),
    as any server reads its configuration when it starts; a change to the variables or the
    settings file takes a restart. Seeing at each page whether any had changed was a tenth of
    a parent's status page's CPU (bench/portal.py). Settings that cannot be read are not
    fixed: each use refuses, naming the problem, as it would without."""
    try:
        found = settings()
    except Refused:
        return
    _FIXED[:] = [found]


def _settings_sources() -> object:
    # The names first, then only their values: decoding every variable's value was most of it.
    names = sorted(name for name in os.environ
                   if name.startswith("TRANSFERS_") or name in ("HOME", "XDG_CONFIG_HOME"))
    variables = tuple((name, os.environ.get(name)) for name in names)
    path = config_path()
    try:
        found = path.stat()
        file: tuple[int, int] | None = (found.st_mtime_ns, found.st_size)
    except OSError:
        file = None
    return variables, str(path), file, os.getcwd()


def worker_settings() -> Settings:
    """The settings of a worker: with the cut-over from which it refuses plaintext."""
    try:
        return load_settings()
    except ValueError as error:
        raise Refused(str(error)) from None


def engine() -> Engine:
    """The records store as it is. Only the worker and `transfers db upgrade` make one: a
    front that finds none says so and creates nothing (no folder, no file)."""
    pinned = _PINNED.get()
    if pinned is not None and "engine" in pinned:
        return pinned["engine"]
    try:
        found = existing_engine(settings().database_url)
    except NoStore as missing:
        raise Refused(f"no records store at {missing.where}: start `transfers dev`, or set "
                      f"TRANSFERS_DATA_DIR / the config file ({config_path()})") from None
    except DatabaseError as error:  # a file that is not a database: say so, not a traceback
        raise Refused(f"the records store cannot be read ({error.orig}): it may be damaged; "
                      "restore it from its backup") from None
    if pinned is not None:
        pinned["engine"] = found
    return found


def documents() -> DocumentStore:
    from store.documents import DocumentStore

    return DocumentStore(settings().documents_dir)


def signing_key() -> SigningKey:
    """The deployment's key that signs proofs now (the newest; made on first use)."""
    from store.secrets import proof_keys

    return _key_of(proof_keys(engine())[-1].seed)


@functools.lru_cache(maxsize=8)
def _key_of(seed: bytes) -> SigningKey:
    """The key of a seed, made once (a key is asked for at each action a front signs; the
    seed, read each time, says when it has been rotated)."""
    from infra.proofs import SigningKey

    return SigningKey.from_seed(seed)


async def client() -> Client:
    """Temporal, through a client that signs each action for the person the operation acts
    as (``staff``)."""
    from infra.settings import connect
    from infra.signing import ProofSigner

    try:
        return await connect(interceptors=[ProofSigner(signing_key)])
    except RuntimeError as error:
        address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
        raise Refused(f"cannot reach Temporal at {address}: {error}") from None
    except ValueError as error:  # a bad setting (encryption keys, TLS files): it names itself
        raise Refused(str(error)) from None


def district(district_id: str) -> DistrictConfig:
    try:
        return load_district(district_id, settings().districts_dir)
    except UnknownDistrictError as error:
        raise Refused(str(error).strip('"')) from None


def within_district(district_id: str) -> WithinDistrictConfig:
    try:
        return load_within_district(district_id, settings().districts_dir)
    except UnknownDistrictError as error:
        raise Refused(str(error).strip('"')) from None
    except ValueError as error:
        first = str(error).splitlines()[0]
        raise Refused(f"{district_id} does not take within-district requests ({first})") from None


def staff(config: DistrictBase, principal: Principal) -> Actor:
    """The principal as the district's roster has them now: their name and roles. The
    operation under way then acts as them: what it sends to a workflow is signed for them
    (``proofs.ACTING``), with these roles."""
    from infra.proofs import ACTING, Acting

    if principal.email:
        member = next((s for s in config.staff if s.email.lower() == principal.email.lower()),
                      None)
    else:
        member = config.staff_member(principal.name)
    if member is None:
        address = f" ({principal.email})" if principal.email else ""
        raise Refused(f"{principal.name!r} is not a staff member of {config.id}{address}")
    # ``parent`` is the portal's proofs' role only: a district file cannot give it to staff.
    roles = [role for role in member.roles if role != PARENT]
    ACTING.set(Acting(subject=principal.subject, name=member.name, roles=tuple(roles),
                      district=config.id))
    return Actor(name=member.name, roles=roles)
