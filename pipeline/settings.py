"""Every path and knob of the warehouse, in one place, each overridable by an environment variable.

Read the environment when a setting is asked for, not at import: Airflow workers, tests and the
benchmark set variables after this module is imported, and each must see its own values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_DEMO_CUSTOMERS = 2000  # the embedded default: `make run` and the model tests


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """A snapshot of the configuration; build one with `load()`."""

    data_dir: Path
    landing_dir: Path
    warehouse_path: Path
    models_dir: Path
    airflow_home: Path
    exports_dir: Path  # audience files per destination (activation.exports)
    report_path: Path  # the segment report, one HTML page (activation.report)
    demo_customers: int
    demo_seed: int
    demo_history_days: int
    segments_algorithm: str  # kmeans, or agglomerative
    segments_k_min: int
    segments_k_max: int
    segments_min_share: float  # clusters smaller than this share are merged into the nearest
    segments_retrain: str  # auto (only when no usable model), always, never: the daily run
    # When `retrain_models` retrains all models (cron, UTC); drift flagged by a daily run
    # starts it too.
    retrain_schedule: str
    segments_drift_threshold: float  # PSI of a model input above it flags drift
    random_state: int
    shop_dsn: str | None  # the shop's PostgreSQL database; unset: shop files in the landing zone
    # A gated table's row count may move this share from the last passed run's (0.5: half
    # to one and a half times); beyond it the gate fails (a doubled load, a lost join).
    quality_volume_tolerance: float
    # A failed task POSTs a small JSON here (Slack-style `text` included); unset: log only.
    alert_webhook: str | None
    # The segment lookup service refuses to start without it (callers send it as a bearer
    # token); never commit one: set it in the environment or a secrets manager.
    api_token: str | None
    # Files of one source loaded side by side (extract_load.load.load_files); 1: in turn.
    load_threads: int
    # DuckDB's memory cap for the loader and for dbt (profiles.yml reads the variable
    # itself); beyond it DuckDB spills to disk.
    duckdb_memory_limit: str

    def as_env(self) -> dict[str, str]:
        """The variables that reproduce these settings in a child process (Airflow, dbt)."""
        env = {"SEGMENTS_SHOP_DSN": self.shop_dsn} if self.shop_dsn else {}
        if self.alert_webhook:
            env["SEGMENTS_ALERT_WEBHOOK"] = self.alert_webhook
        if self.api_token:
            env["SEGMENTS_API_TOKEN"] = self.api_token
        return env | {
            "SEGMENTS_DATA_DIR": str(self.data_dir),
            "SEGMENTS_LANDING_DIR": str(self.landing_dir),
            "SEGMENTS_WAREHOUSE": str(self.warehouse_path),
            "SEGMENTS_MODELS_DIR": str(self.models_dir),
            "SEGMENTS_AIRFLOW_HOME": str(self.airflow_home),
            "SEGMENTS_EXPORTS_DIR": str(self.exports_dir),
            "SEGMENTS_REPORT": str(self.report_path),
            "SEGMENTS_DEMO_CUSTOMERS": str(self.demo_customers),
            "SEGMENTS_DEMO_SEED": str(self.demo_seed),
            "SEGMENTS_DEMO_HISTORY_DAYS": str(self.demo_history_days),
            "SEGMENTS_ALGORITHM": self.segments_algorithm,
            "SEGMENTS_K_MIN": str(self.segments_k_min),
            "SEGMENTS_K_MAX": str(self.segments_k_max),
            "SEGMENTS_MIN_SHARE": str(self.segments_min_share),
            "SEGMENTS_RETRAIN": self.segments_retrain,
            "SEGMENTS_RETRAIN_SCHEDULE": self.retrain_schedule,
            "SEGMENTS_DRIFT_THRESHOLD": str(self.segments_drift_threshold),
            "SEGMENTS_RANDOM_STATE": str(self.random_state),
            "SEGMENTS_QUALITY_VOLUME_TOLERANCE": str(self.quality_volume_tolerance),
            "SEGMENTS_LOAD_THREADS": str(self.load_threads),
            "SEGMENTS_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
        }

    @property
    def truth_dir(self) -> Path:
        """Demo ground truth: read by tests and the benchmark, never by the pipeline."""
        return self.landing_dir / "_truth"

    @property
    def quality_dir(self) -> Path:
        """The GX project: suites, results and the Data Docs site (uncommitted/data_docs)."""
        return self.data_dir / "quality"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's output: manifest, run results, the saved parse (partial_parse.msgpack)."""
        return self.data_dir / "dbt" / "target"

    def dbt_layer_results(self, layer: str) -> Path:
        """The run results of the last `dbt build` of a layer (`pipeline.dbt_tasks.LAYERS`):
        each build overwrites dbt's own run_results.json, so each layer's is kept apart."""
        return self.dbt_target_dir / f"run_results.{layer}.json"

    @property
    def data_docs_index(self) -> Path:
        return self.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def load() -> Settings:
    """Build the settings from the environment (see `.env.example` for every variable)."""
    data_dir = _path("SEGMENTS_DATA_DIR", PROJECT_ROOT / "data")
    return Settings(
        data_dir=data_dir,
        landing_dir=_path("SEGMENTS_LANDING_DIR", data_dir / "landing"),
        warehouse_path=_path("SEGMENTS_WAREHOUSE", data_dir / "warehouse.duckdb"),
        models_dir=_path("SEGMENTS_MODELS_DIR", data_dir / "models"),
        airflow_home=_path("SEGMENTS_AIRFLOW_HOME", data_dir / "airflow"),
        exports_dir=_path("SEGMENTS_EXPORTS_DIR", data_dir / "exports"),
        report_path=_path("SEGMENTS_REPORT", data_dir / "report" / "index.html"),
        demo_customers=int(os.environ.get("SEGMENTS_DEMO_CUSTOMERS", str(DEFAULT_DEMO_CUSTOMERS))),
        demo_seed=int(os.environ.get("SEGMENTS_DEMO_SEED", "42")),
        demo_history_days=int(os.environ.get("SEGMENTS_DEMO_HISTORY_DAYS", "730")),
        segments_algorithm=os.environ.get("SEGMENTS_ALGORITHM", "kmeans"),
        segments_k_min=int(os.environ.get("SEGMENTS_K_MIN", "4")),
        segments_k_max=int(os.environ.get("SEGMENTS_K_MAX", "12")),
        segments_min_share=float(os.environ.get("SEGMENTS_MIN_SHARE", "0.02")),
        segments_retrain=os.environ.get("SEGMENTS_RETRAIN", "auto"),
        retrain_schedule=os.environ.get("SEGMENTS_RETRAIN_SCHEDULE", "0 4 * * 0"),
        segments_drift_threshold=float(os.environ.get("SEGMENTS_DRIFT_THRESHOLD", "0.2")),
        random_state=int(os.environ.get("SEGMENTS_RANDOM_STATE", "0")),
        shop_dsn=os.environ.get("SEGMENTS_SHOP_DSN") or None,
        quality_volume_tolerance=float(os.environ.get("SEGMENTS_QUALITY_VOLUME_TOLERANCE", "0.5")),
        alert_webhook=os.environ.get("SEGMENTS_ALERT_WEBHOOK") or None,
        api_token=os.environ.get("SEGMENTS_API_TOKEN") or None,
        load_threads=int(os.environ.get("SEGMENTS_LOAD_THREADS", "2")),
        duckdb_memory_limit=os.environ.get("SEGMENTS_DUCKDB_MEMORY_LIMIT", "4GB"),
    )
