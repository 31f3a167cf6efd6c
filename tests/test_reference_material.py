"""Tests that need `../shared` or the browser skip without them, but fail without them when `AVS_REQUIRE_REFERENCE=1`
(as `.ci/run` sets), so a CI checkout that lost `../shared` cannot go green by skipping."""

import pytest
from conftest import require_module, require_reference


def test_missing_reference_material_skips_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("AVS_REQUIRE_REFERENCE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="missing_fixture is not available"):
        require_reference(tmp_path / "missing_fixture", "missing_fixture")
    require_reference(tmp_path, "an existing folder")  # present: nothing happens


def test_missing_reference_material_fails_when_required(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_REQUIRE_REFERENCE", "1")
    with pytest.raises(pytest.fail.Exception, match="AVS_REQUIRE_REFERENCE=1 requires it"):
        require_reference(tmp_path / "parity", "../shared/reference/parity")
    with pytest.raises(pytest.fail.Exception, match="no_such_module_for_the_test"):
        require_module("no_such_module_for_the_test")
    assert require_module("json").dumps([]) == "[]"
