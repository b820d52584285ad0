"""The dashboard's SVG plots are well-formed XML, label themselves and escape names."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from datafair.web import plots

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg" and root.get("role") == "img" and root.get("aria-label")
    return root


def test_bars_over_time_one_column_per_hour() -> None:
    root = _parse(plots.bars_over_time([(0, 3), (1, 0), (2, 7)], "Answers per hour"))
    assert len(root.findall(f"{SVG}rect")) == 3
    assert "no answers yet" in plots.bars_over_time([], "Answers")


def test_horizontal_bars_show_unmeasurable_values() -> None:
    svg = plots.horizontal_bars([("pos", 0.5), ("neg", None), ("<b>", -0.2)], "alpha")
    root = _parse(svg)
    assert "n/a" in svg and "&lt;b&gt;" in svg
    assert len(root.findall(f"{SVG}rect")) == 2


def test_intervals_mark_flagged_contributors() -> None:
    rows = [("0x" + "a" * 40, 0.9, 0.8, 0.95, False), ("0x" + "b" * 40, 0.4, 0.2, 0.6, True)]
    root = _parse(plots.intervals(rows, "skills"))
    circles = root.findall(f"{SVG}circle")
    assert [c.get("class") for c in circles] == ["point", "flagged"]


def test_heatmap_has_a_cell_per_pair() -> None:
    root = _parse(plots.heatmap(["a", "b", "c"], [[3, 1, 0], [0, 2, 0], [1, 0, 4]], "confusion"))
    assert len(root.findall(f"{SVG}rect")) == 9
