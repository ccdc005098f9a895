"""The committed stub of the compiled module, bindings/python/optaro/_core.pyi, is what pybind11-stubgen
makes of the installed module today. To regenerate it after changing the bindings:

    pip install . && python bindings/python/generate_stubs.py
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bindings" / "python" / "generate_stubs.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("optaro_generate_stubs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stub_matches_the_installed_module():
    pytest.importorskip("pybind11_stubgen", reason="pybind11-stubgen is not installed (tests/requirements.txt)")
    if not SCRIPT.exists():
        pytest.skip(f"{SCRIPT} not found: the tests run outside the optaro source tree")
    generator = load_generator()
    expected = generator.generate()
    committed = generator.COMMITTED.read_text(encoding="utf-8")
    if committed != expected:
        diff = "".join(difflib.unified_diff(
            committed.splitlines(keepends=True), expected.splitlines(keepends=True),
            fromfile="committed _core.pyi", tofile="generated from the installed module"))
        pytest.fail(f"the committed stub is stale; regenerate it with `python {SCRIPT.relative_to(REPO)}`\n{diff}")


def test_the_installed_package_ships_the_stub_and_py_typed():
    import optaro

    package = Path(optaro.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_core.pyi").is_file()
