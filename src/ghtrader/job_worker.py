"""Entry point of a subprocess job: ``python -m ghtrader.job_worker <job-id>``.

The server starts it in a new process group with the server's settings in
``GHTRADER_JOB_SETTINGS_JSON``; it rebuilds the container, runs the job (see
:mod:`ghtrader.interfaces.worker.runner`) and exits with the job's code. Its output is the job log.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from ghtrader.container import Container
from ghtrader.interfaces.worker.runner import EXIT_FAILED, run_job
from ghtrader.settings import JOB_SETTINGS_ENV, load_settings, settings_from_json


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].isdigit():
        sys.stderr.write("usage: python -m ghtrader.job_worker <job-id>\n")
        return EXIT_FAILED
    text = os.environ.get(JOB_SETTINGS_ENV)
    settings = settings_from_json(text) if text else load_settings()
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    container = Container()
    container.settings.override(settings)
    try:
        return run_job(
            int(args[0]),
            container.job_store(),
            container.job_catalog(),
            container.clock(),
            tqsdk_slots=settings.max_parallel_tqsdk_jobs,
            recorder=container.run_recorder(),
            experiments=container.experiment_recorder,  # opened only by a research job
        )
    finally:
        container.shutdown_resources()


if __name__ == "__main__":
    raise SystemExit(main())
