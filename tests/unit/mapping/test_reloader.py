"""A running service keeps its rules when a reload fails, and takes good ones."""

from __future__ import annotations

import os

import pytest
import yaml

from services.mapping.domain.ruleset import DEFAULT_RULES, RuleSetError
from services.mapping.reloader import RELOADS, RuleHolder


def _write(path, raw, bump_ns: int) -> None:
    path.write_text(yaml.safe_dump(raw))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump_ns))


def test_refused_reload_keeps_the_rules_in_force(tmp_path):
    path = tmp_path / "rules.yaml"
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    path.write_text(yaml.safe_dump(raw))
    holder = RuleHolder(path)
    assert holder.check() is False  # unchanged file: nothing to do
    version = holder.current.version

    bad = yaml.safe_load(DEFAULT_RULES.read_text())
    bad["themes"][0]["cdw_roles"] = ["wizard"]
    refused_before = RELOADS.labels("refused")._value.get()
    _write(path, bad, 1_000_000)
    assert holder.check() is False
    assert holder.current.version == version
    assert "themes[0]" in holder.last_error
    assert RELOADS.labels("refused")._value.get() == refused_before + 1

    good = yaml.safe_load(DEFAULT_RULES.read_text())
    good["version"] = "2099.1.1"
    _write(path, good, 2_000_000)
    assert holder.check() is True
    assert holder.current.version == "2099.1.1" and holder.last_error is None


def test_a_bad_file_at_start_up_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("version: nope\nthemes: []\nindicators: []\n")
    with pytest.raises(RuleSetError, match="version"):
        RuleHolder(path)


def test_a_reader_other_than_the_worker_reloads_without_counting(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(DEFAULT_RULES.read_text())
    holder = RuleHolder(path, report=False)
    loaded, refused = RELOADS.labels("loaded")._value.get(), RELOADS.labels("refused")._value.get()
    bad = yaml.safe_load(DEFAULT_RULES.read_text())
    bad["themes"][0]["cites"] = []
    _write(path, bad, 1_000_000)
    assert holder.check() is False and "cites" in holder.last_error
    good = yaml.safe_load(DEFAULT_RULES.read_text())
    good["version"] = "2099.1.2"
    _write(path, good, 2_000_000)
    assert holder.check() is True and holder.current.version == "2099.1.2"
    assert (RELOADS.labels("loaded")._value.get(), RELOADS.labels("refused")._value.get()) == (loaded, refused)
