"""The subprocess job entry point's logic (the process itself starts in ``ghtrader.job_worker``)."""
