"""The notebooks run top to bottom against the session's test database (nbclient)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.db

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["01_surin_walkthrough.ipynb"])
def test_notebook_runs_without_error(name, clean_engine, database_url, geodata_dir, samples_dir,
                                     monkeypatch):
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # committed without outputs (nbstripout)
    assert all(not c.outputs and c.execution_count is None for c in code)
    # the kernel inherits this environment: the test database, not the developer's
    monkeypatch.setenv("COM_DATABASE_URL", database_url)
    monkeypatch.setenv("COM_GEODATA_DIR", str(geodata_dir))
    monkeypatch.setenv("COM_SAMPLES_DIR", str(samples_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError with the cell and traceback on failure
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    texts = "".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
        for c in code for o in c.outputs
    )
    assert "'method': 'exact'" in texts  # the CCTV plan was solved exactly
    assert any("text/html" in o.get("data", {}) for o in code[-1].outputs)  # the map
    assert os.environ["COM_DATABASE_URL"] == database_url
