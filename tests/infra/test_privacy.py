"""infra/settings.keep_private: a data folder an earlier version left open is closed, and what
the process creates afterwards is its user's only (docs/cross-cutting.md "Privacy")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def test_an_open_data_folder_is_closed_and_new_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "documents").mkdir(parents=True)
    (data / "records.sqlite3").write_bytes(b"")
    for path, mode in ((data, 0o755), (data / "documents", 0o755),
                       (data / "records.sqlite3", 0o644)):
        path.chmod(mode)
    script = f"""
from pathlib import Path
from infra.settings import keep_private
data = Path({str(data)!r})
keep_private(data)
(data / "outbox").mkdir()
(data / "outbox" / "notice.eml").write_text("a notice")
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    modes = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777
             for p in (data, *data.rglob("*"))}
    assert modes == {
        "data": 0o700, "data/documents": 0o700, "data/records.sqlite3": 0o600,
        "data/outbox": 0o700, "data/outbox/notice.eml": 0o600,
    }
