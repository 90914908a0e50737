"""Extract/load: landing-zone files into `raw.*` in DuckDB, accounted for row by row."""
