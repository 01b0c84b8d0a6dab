"""Run the ``com`` command in the test process (its settings from the test database)."""

from __future__ import annotations

from typing import Any


def run_cli(monkeypatch: Any, capsys: Any, test_settings: Any, *args: str
            ) -> tuple[int, str, str]:
    """Run ``com *args``; return the exit code, standard output and standard error."""
    from com import cli
    from com.config.settings import get_settings

    monkeypatch.setenv("COM_DATABASE_URL", test_settings.database_url)
    monkeypatch.setenv("COM_DEFAULT_PROVINCE", "32")
    monkeypatch.setattr("sys.argv", ["com", *args])
    get_settings.cache_clear()
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr()
    return code, out.out, out.err
