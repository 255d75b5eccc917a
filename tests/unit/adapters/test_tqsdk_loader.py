"""import_tqsdk keeps the process's logging intact (tqsdk's shinny_structlog replaces the root)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PROBE = textwrap.dedent(
    """
    import io, logging
    stream = io.StringIO()
    logging.basicConfig(stream=stream, level=logging.INFO, format="%(name)s|%(message)s")
    root = logging.getLogger()
    before = logging.getLogger("ghtrader.before")
    {importer}
    after = logging.getLogger("ghtrader.after")
    before.info("from-before")
    after.info("from-after")
    # tqsdk's own loggers (created at its import) reach our handlers
    import shinny_structlog
    shinny_structlog.root.getChild("tqsdk.probe").warning("from-tqsdk")
    print(logging.getLogger() is root, logging.getLogger("ghtrader.before") is before)
    print(stream.getvalue().replace(chr(10), ";"))
    """
)


def _run(importer: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(importer=importer)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()


def test_a_bare_import_breaks_logging_which_is_why_the_loader_exists() -> None:
    same, logged = _run("import tqsdk")
    assert same == "False False" or "from-after" not in logged


def test_the_loader_keeps_one_logging_hierarchy() -> None:
    same, logged = _run("from ghtrader.adapters.tqsdk.loader import import_tqsdk; import_tqsdk(); import_tqsdk()")
    assert same == "True True"
    lines = logged.split(";")
    assert "ghtrader.before|from-before" in lines and "ghtrader.after|from-after" in lines, logged
    assert any(line.endswith("tqsdk.probe|from-tqsdk") for line in lines), logged
