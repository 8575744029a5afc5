import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # ledger.py, crash_child.py

import pytest  # noqa: E402


@pytest.fixture
def data_dir(tmp_path):
    return str(tmp_path / "data")
