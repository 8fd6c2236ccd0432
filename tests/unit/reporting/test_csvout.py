"""CSV export cells: formulas neutralised after leading white space too, numbers kept numbers."""

from __future__ import annotations

import csv
import io

import pytest

from services.reporting.domain.csvout import cell, formula_like, to_csv


@pytest.mark.parametrize(
    "text",
    [
        " =1+1",  # the case in issue #18: a space before the formula
        "\n=cmd|' /C calc'!A0",  # newline-led
        "\r\n=1+1",
        "\t=1+1",
        "  \t @SUM(A1)",
        " +1",
        "\n-2+3",
        "\u00a0=1+1",  # a no-break space is white space to a spreadsheet too
        "=1+1",
        "+1",
        "-1+2",
        "@x",
        "\tplain",
        "\rplain",  # a leading tab or CR, whatever follows (OWASP)
    ],
)
def test_formula_like_text_is_prefixed_with_an_apostrophe(text):
    assert formula_like(text)
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["plain", "a=1+1", "Carers said: -2 staff", "", "  plain", "\nplain", "1-2"])
def test_other_text_is_left_alone(text):
    assert not formula_like(text)
    assert cell(text) == text


def test_numbers_stay_numbers_and_text_that_looks_like_a_number_is_text():
    assert cell(-3) == -3 and cell(-2.5) == -2.5 and cell(0) == 0
    assert cell("-3") == "'-3"
    assert cell(True) == "true" and cell(None) == ""


def test_a_spreadsheet_reads_the_neutralised_cells_back_as_text():
    text = to_csv(["summary", "change"], [[" =1+1", -3], ["\n=cmd", 4.5], ["fine", -0.5]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["summary", "change"], ["' =1+1", "-3"], ["'\n=cmd", "4.5"], ["fine", "-0.5"]]
    assert not any(formula_like(row[0]) for row in rows[1:])
