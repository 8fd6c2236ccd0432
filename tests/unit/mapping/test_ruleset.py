"""An invalid rule file is refused at load, naming the bad entry."""

from __future__ import annotations

import pytest
import yaml

from services.mapping.domain.ruleset import DEFAULT_RULES, RuleSetError, parse

RAW = yaml.safe_load(DEFAULT_RULES.read_text())


def _refused(raw) -> str:
    with pytest.raises(RuleSetError) as info:
        parse(yaml.safe_dump(raw), "rules.yaml")
    return str(info.value)


def test_shipped_rules_load():
    assert parse(DEFAULT_RULES.read_text()).version == RAW["version"]


def test_unknown_role_names_the_entry_by_id():
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["themes"][2]["cdw_roles"] = ["wizard"]
    message = _refused(raw)
    assert f"themes[2] ({raw['themes'][2]['id']})" in message and "cdw_roles" in message


def test_stage_out_of_range_is_refused():
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["indicators"][0]["stages"] = [9]
    assert f"indicators[0] ({raw['indicators'][0]['id']}).stages" in _refused(raw)


def test_two_rules_for_one_theme_are_refused():
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["themes"].append(dict(raw["themes"][0], id="theme.again"))
    assert "more than one rule" in _refused(raw)


def test_duplicate_ids_and_missing_seed_ref():
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["indicators"][1]["id"] = raw["indicators"][0]["id"]
    assert "used twice" in _refused(raw)
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    del raw["themes"][0]["cites"]
    assert "cites" in _refused(raw)


def test_a_citation_without_a_quote_or_an_unknown_seed_is_refused():
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    del raw["themes"][0]["cites"][0]["quote"]
    assert f"themes[0] ({raw['themes'][0]['id']}).cites" in _refused(raw)
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["themes"][0]["cites"] = [{"seed": "009", "lines": 1, "quote": "anything"}]
    assert "cites" in _refused(raw)
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["themes"][0]["cites"] = []
    assert "cites" in _refused(raw)


def test_an_unknown_destination_is_refused():
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    raw["themes"][0]["destinations"] = ["the_moon"]
    assert "destinations" in _refused(raw)


def test_not_yaml_and_not_a_mapping():
    with pytest.raises(RuleSetError, match="not valid YAML"):
        parse("themes: [unclosed", "x.yaml")
    with pytest.raises(RuleSetError, match="mapping at the top level"):
        parse("- a\n- b\n", "x.yaml")


@pytest.mark.parametrize(("section", "key"), [("themes", "theme"), ("indicators", "indicator")])
def test_a_second_rule_for_one_theme_or_indicator_is_refused(section, key):
    raw = yaml.safe_load(DEFAULT_RULES.read_text())
    second = {**raw[section][0], "id": f"{key}.second_rule"}
    raw[section].append(second)
    message = _refused(raw)
    assert f"{key} '{second[key]}' has more than one rule ({key}.second_rule)" in message
