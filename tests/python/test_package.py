"""The installed package: where it comes from, its version, what the wheel holds, its public face."""

from __future__ import annotations

import doctest
import importlib.metadata
import re
from pathlib import Path

import pytest

import optaro
from optaro import _core

REPO = Path(__file__).resolve().parents[2]


def test_imported_from_an_install_not_the_source_tree():
    # The source package has no compiled _core: importing it would fail, or worse, hide a stale build.
    package_dir = Path(optaro.__file__).resolve().parent
    assert package_dir != (REPO / "bindings" / "python" / "optaro").resolve()
    assert Path(_core.__file__).resolve().parent == package_dir


def test_version_is_the_cmake_project_version_everywhere():
    assert optaro.__version__ == _core.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", optaro.__version__)
    cmake = REPO / "CMakeLists.txt"
    if cmake.exists():
        match = re.search(r"project\(\s*optaro\s+VERSION\s+([0-9.]+)", cmake.read_text(encoding="utf-8"))
        assert match and match.group(1) == optaro.__version__
    try:
        assert importlib.metadata.version("optaro") == optaro.__version__
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("optaro is imported from a build tree, not installed: no wheel metadata to compare")


def test_wheel_holds_the_python_package_only():
    try:
        files = importlib.metadata.files("optaro")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("optaro is imported from a build tree, not installed")
    names = {str(f) for f in files or ()}
    assert "optaro/py.typed" in names
    assert "optaro/_core.pyi" in names
    assert any(re.fullmatch(r"optaro/_core\..*\.so|optaro/_core\..*\.pyd", n) for n in names)
    cxx = [n for n in names if re.search(r"\.(hpp|h|a|cmake)$|(^|/)include/|(^|/)lib/", n)]
    assert cxx == [], f"C++ package files in the wheel: {cxx}"


def test_public_api():
    assert set(optaro.__all__) == {
        "GREEK_NAMES", "Status", "__version__", "bs_price", "bs_greeks", "implied_vol",
        "black76_price", "black76_greeks", "black76_implied_vol", "enrich_chain", "max_pain", "pcr", "ohlc",
        "VolSurface", "fit_svi", "svi_total_variance", "svi_durrleman_g", "svi_butterfly_violations",
        "Enricher", "RetryPolicy",
    }
    assert optaro.GREEK_NAMES == (
        "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm", "speed", "zomma", "color", "veta",
    )


@pytest.mark.parametrize(
    "function",
    [optaro.bs_price, optaro.bs_greeks, optaro.implied_vol,
     optaro.black76_price, optaro.black76_greeks, optaro.black76_implied_vol],
)
def test_docstrings_state_units(function):
    doc = " ".join((function.__doc__ or "").split())
    assert "years" in doc, f"{function.__name__}: the docstring does not give the unit of T"
    if function in (optaro.bs_greeks,):
        for unit in ("per 1.00 of vol", "per year", "/ 100", "/ 365"):
            assert unit in doc, f"bs_greeks: the docstring does not mention {unit!r}"


def test_package_docstring_example():
    failures, tried = doctest.testmod(optaro, verbose=False)
    assert tried > 0 and failures == 0
