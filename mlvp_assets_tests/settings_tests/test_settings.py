"""Settings are read in one module, documented in the README, and fail naming the variable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlvp_assets
from mlvp_assets.settings import ALL_SETTINGS, RETRAIN_AFTER_DRIFTED_DAYS, Setting, SettingError

PACKAGE = Path(mlvp_assets.__file__).parent
README = PACKAGE.parent / "README.md"


def _environment_reads(source: str) -> list[int]:
    """Lines that touch os.environ or call os.getenv."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_module_reads_the_environment():
    readers = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        reads = _environment_reads(path.read_text())
        if reads:
            readers[str(path.relative_to(PACKAGE))] = reads
    assert readers == {}


def test_the_scan_finds_a_read_when_there_is_one():
    assert _environment_reads("import os\nroot = os.environ.get('X')\n") == [2]
    assert _environment_reads("import os\nroot = os.getenv('X')\n") == [2]


def test_the_readme_documents_every_setting():
    readme = README.read_text()
    missing = [
        setting.name for setting in ALL_SETTINGS if f"| `{setting.name}` | {setting.purpose} |" not in readme
    ]
    assert missing == []


def test_settings_have_unique_names():
    names = [setting.name for setting in ALL_SETTINGS]
    assert len(names) == len(set(names)) > 20


def test_empty_counts_as_unset_and_falls_back_to_the_default(monkeypatch):
    setting = Setting("MLVP_TEST_ONLY_SETTING", "a test", "fallback")
    monkeypatch.setenv(setting.name, "")
    assert setting.value() == "fallback" and not setting.is_set()
    monkeypatch.delenv(RETRAIN_AFTER_DRIFTED_DAYS.name, raising=False)
    assert RETRAIN_AFTER_DRIFTED_DAYS.whole_number() == 3
    monkeypatch.setenv(RETRAIN_AFTER_DRIFTED_DAYS.name, "5")
    assert RETRAIN_AFTER_DRIFTED_DAYS.whole_number() == 5


@pytest.mark.parametrize("value", ["", "0", "-2", "three", "1.5"])
def test_a_malformed_number_names_the_variable_and_its_purpose(monkeypatch, value):
    monkeypatch.setenv(RETRAIN_AFTER_DRIFTED_DAYS.name, value)
    message = f"{RETRAIN_AFTER_DRIFTED_DAYS.name} must be a whole number"
    with pytest.raises(SettingError, match=message) as error:
        RETRAIN_AFTER_DRIFTED_DAYS.whole_number()
    assert "consecutive days" in str(error.value)


def test_a_missing_required_setting_says_who_needs_it(monkeypatch):
    setting = Setting("MLVP_TEST_ONLY_SETTING", "what the test needs it for")
    monkeypatch.delenv(setting.name, raising=False)
    with pytest.raises(SettingError, match="MLVP_ENV=test needs MLVP_TEST_ONLY_SETTING: what the test needs"):
        setting.required("MLVP_ENV=test")
    monkeypatch.setenv(setting.name, "x")
    assert setting.required("MLVP_ENV=test") == "x"
