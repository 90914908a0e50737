"""Shared plumbing of the warehouse: settings, stage runners the DAG calls, the run summary."""
