"""The charts' geometry: what the SVG templates draw."""

from __future__ import annotations

from ciclo.insight import charts


def test_bars_are_as_long_as_their_values_and_the_greatest_fills_the_room():
    chart = charts.bars("Agora", [("Prospecção", 4), ("Proposta", 2), ("Negociação", 0)])
    room = charts.WIDTH - charts.LABEL_WIDTH - 60
    assert [b.width for b in chart.bars] == [room, room / 2, 0]
    assert [b.text for b in chart.bars] == ["4", "2", "0"]
    assert [b.y for b in chart.bars] == [0, 30, 60]
    assert not chart.empty and charts.bars("Nada", [("A", 0), ("B", None)]).empty


def test_grouped_bars_put_each_series_under_its_label_with_a_legend():
    chart = charts.grouped_bars("Antes e depois", [("Site", [50.0, 25.0]), ("Indicação", [50.0, None])], ["Mar", "Abr"])
    assert [(b.label, b.series) for b in chart.bars] == [
        ("Site", "primary"),
        ("", "danger"),
        ("Indicação", "primary"),
        ("", "danger"),
    ]
    assert chart.bars[3].text == "—"
    assert chart.legend == [("Mar", "primary"), ("Abr", "danger")]


def test_lines_run_from_the_bottom_to_the_top_of_the_plot():
    chart = charts.lines("Semanas", ["s1", "s2", "s3"], [("Entradas", [0, 2, 4])])
    [line] = chart.lines
    bottom, top = charts.LINE_HEIGHT - charts.PAD, charts.PAD
    assert [(x, y) for x, y, _t in line.dots] == [(30.0, bottom), (320.0, (bottom + top) / 2), (610.0, top)]
    assert line.points == " ".join(f"{x},{y}" for x, y, _t in line.dots)
    assert [label for _y, label in chart.y_labels] == ["0", "2", "4"]


def test_the_heat_strip_darkens_with_the_count_and_leaves_zero_blank():
    strip = charts.heat_strip("Idade", ["0–2", "3–7"], [("Prospecção", [0, 4]), ("Proposta", [2, 0])])
    assert [[c.opacity for c in r.cells] for r in strip.rows] == [[0, 1.0], [0.54, 0]]
    assert [label for _x, label in strip.columns] == ["0–2", "3–7"]
