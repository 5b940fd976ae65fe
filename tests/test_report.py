"""The HTML report: self-contained, escaped, byte-stable, every section present."""

import re

import numpy as np

import riskmc
from riskmc.report import render
from tests.conftest import BASE

SECTIONS = ["Headline", "Claims", "Paths, 2025&ndash;2030", "Distributions in 2030", "What drives it",
            "Priors", "Diagnostics", "Reproduce", "Model"]


def _html(result):
    return render(result.summary)


def test_sections_in_order_and_numbers_present(base_run):
    html = _html(base_run)
    heads = re.findall(r"<h2>(.*?)</h2>", html)
    assert heads == SECTIONS
    med = base_run.summary["outputs"]["nvidia_share"]["years"]["2030"]["p50"]["value"]
    assert f"median <strong>{100 * med:.1f}%</strong>" in html
    for name in base_run.summary["claims"]:
        assert f"<td>{name}</td>" in html


def test_self_contained(base_run):
    html = _html(base_run)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    assert "<link" not in html
    assert len(html.encode()) < 3 * 1024 * 1024


def test_byte_stable(base_run):
    assert _html(base_run) == _html(base_run)


def test_text_from_priors_is_escaped(tmp_path):
    text = BASE.read_text().replace(
        'description = "Custom silicon\'s share of hyperscaler AI workloads in 2030"',
        'description = "<script>alert(1)</script> share"')
    assert "<script>alert(1)</script>" in text
    p = tmp_path / "x.toml"
    p.write_text(text)
    r = riskmc.run(p, draws=2000, seed=1)
    html = _html(r)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; share" in html


def test_every_figure_has_a_caption_or_label(base_run):
    html = _html(base_run)
    n_svg = html.count("<svg")
    assert n_svg == html.count('role="img" aria-label=')
    assert n_svg > 10
    assert np.isfinite(n_svg)
