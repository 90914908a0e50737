"""The dbt manifest the DAG renders its per-model tasks from, parsed ahead of time.

Cosmos can list the project with `dbt ls` while the DAG file is parsed, but that costs
seconds on every parse by every scheduler loop. Instead `ensure_manifest` runs `dbt parse`
once, when the project changed, and the DAG reads the manifest (milliseconds). The
manifest depends on the project's files only, not on the warehouse, so every run and test
shares it. A fingerprint of those files beside it says whether it is current.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.settings import DBT_PROJECT_DIR

log = logging.getLogger(__name__)

MANIFEST_DIR = DBT_PROJECT_DIR / "target"
MANIFEST_PATH = MANIFEST_DIR / "manifest.json"
FINGERPRINT_PATH = MANIFEST_DIR / "manifest.sha256"
# What dbt writes or installs inside the project: not part of its definition.
_NOT_SOURCE = {"target", "logs", "dbt_packages", ".user.yml"}


class ManifestMissing(RuntimeError):
    """No manifest yet: the DAG cannot render its dbt tasks."""


def project_fingerprint() -> str:
    """SHA-256 over the project's files (path and content) and dbt's version."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"dbt-core=={version('dbt-core')}\n".encode())
    for path in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = path.relative_to(DBT_PROJECT_DIR)
        if path.is_file() and relative.parts[0] not in _NOT_SOURCE:
            digest.update(f"{relative.as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current() -> bool:
    """The manifest exists and was parsed from the project as it is now."""
    return (
        MANIFEST_PATH.exists()
        and FINGERPRINT_PATH.exists()
        and FINGERPRINT_PATH.read_text().strip() == project_fingerprint()
    )


def ensure_manifest() -> Path:
    """Parse the project into `dbt_project/target/manifest.json` unless that is current.

    dbt parses into a temporary folder and the result is moved into place, so a reader never
    sees half a manifest and two callers at once both end with a whole one.
    """
    if is_current():
        return MANIFEST_PATH
    fingerprint = project_fingerprint()
    log.info("parsing the dbt project into %s", MANIFEST_PATH)
    MANIFEST_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=MANIFEST_DIR) as scratch:
        env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            # Parsing reads no data; the warehouse path only has to be a valid one.
            "SEGMENTS_WAREHOUSE": str(Path(scratch) / "parse.duckdb"),
        }
        dbt = Path(sys.executable).with_name("dbt")
        result = subprocess.run(
            [str(dbt), "parse", "--target-path", scratch, "--log-path", scratch],
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{result.stdout[-4000:]}{result.stderr}")
        os.replace(Path(scratch) / "manifest.json", MANIFEST_PATH)
        fingerprint_tmp = Path(scratch) / "manifest.sha256"
        fingerprint_tmp.write_text(fingerprint + "\n")
        os.replace(fingerprint_tmp, FINGERPRINT_PATH)
    return MANIFEST_PATH


@functools.cache  # both dbt layers ask while one DAG file parses: hash the project once
def manifest_for_dag() -> Path:
    """The manifest path for the DAG file: cheap (no dbt), loud when missing or stale."""
    if not MANIFEST_PATH.exists():
        raise ManifestMissing(
            f"no dbt manifest at {MANIFEST_PATH}: run `segments manifest` "
            "(`make run`, `make airflow` and the tests do it for you)"
        )
    if not is_current():
        log.warning(
            "%s is older than the dbt project: the DAG's dbt tasks may not match the models; "
            "run `segments manifest`",
            MANIFEST_PATH,
        )
    return MANIFEST_PATH
