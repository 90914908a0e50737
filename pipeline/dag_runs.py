"""Run DAGs one after another for one date in one Airflow process, each as `airflow dags test`.

    python -m pipeline.dag_runs DATE DAG_ID=LOG_FILE [DAG_ID=LOG_FILE ...]

`pipeline.airflow_runner` starts this with Airflow's environment. The daily run and the
activation run it triggers used to be two `airflow dags test` processes, each paying about
16 s of its own on two cores: 2.5 s to start, 2.4 s to parse the DAGs, 6.8 s to start the
in-process execution API before its first task (kept for the process's life) and 4.3 s to
exit. Each DAG runs through the command's own function, so it runs exactly as
`airflow dags test` runs it; each writes its own log file. The exit status is 0 when every
run succeeded, else 1 + the position of the failed one (the runs after it do not start).
"""

from __future__ import annotations

import os
import sys
import traceback


def _output_to(log_file: str) -> None:
    """Point this process's stdout and stderr (where Airflow logs) at `log_file`."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def main(argv: list[str]) -> int:
    as_of, *runs = argv
    from airflow.cli import cli_parser
    from airflow.configuration import write_default_airflow_configuration_if_needed

    write_default_airflow_configuration_if_needed()
    parser = cli_parser.get_parser()
    for position, run in enumerate(runs):
        dag_id, log_file = run.split("=", 1)
        _output_to(log_file)
        args = parser.parse_args(["dags", "test", dag_id, as_of])
        try:
            args.func(args)  # raises SystemExit("DagRun failed") when the run failed
        except (SystemExit, Exception) as error:
            if isinstance(error, SystemExit) and not error.code:
                continue
            traceback.print_exc()
            return 1 + position
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
