"""The HTML report: self-contained, escaped, byte-stable, every section present."""

import re

import riskmc
from riskmc.report import render
from tests.conftest import BASE, ROOT

SECTIONS = ["Headline", "Distributions in 2030", "Paths, 2025&ndash;2030", "What drives it", "Diagnostics",
            "Reproduce", "Priors", "Model"]


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
    # The claims sit in the headline, most likely first, so the largest and the smallest
    # probability are on the first screen.
    head = html.split('<section id="distributions">')[0]
    order = re.findall(r"<tr><td>(C\d)</td>", head)
    probs = [base_run.summary["claims"][c]["probability"]["value"] for c in order]
    assert sorted(order) == ["C1", "C2", "C3", "C4"] and probs == sorted(probs, reverse=True)


def test_self_contained(base_run):
    html = _html(base_run)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    assert "<link" not in html
    assert len(html.encode()) < 3 * 1024 * 1024


def test_byte_stable(tmp_path):
    """Two runs with the same seed write the same report.html, byte for byte."""
    written = []
    for name in ("a", "b"):
        riskmc.write(riskmc.run(BASE, draws=2000, seed=7), tmp_path / name)
        written.append((tmp_path / name / "report.html").read_bytes())
    assert written[0] == written[1]
    assert b"<h2>Headline</h2>" in written[0]


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
    # Each label says what its figure shows: none empty, no two alike.
    labels = re.findall(r'role="img" aria-label="([^"]*)"', html)
    assert len(labels) == n_svg and all(label.strip() for label in labels)
    assert len(set(labels)) == n_svg


def test_one_probability_format_and_units_on_axes(base_run):
    from riskmc.report import fmt
    html = _html(base_run)
    c1 = base_run.summary["claims"]["C1"]["probability"]
    assert fmt.prob(c1["value"], c1["mcse"]) in html.replace("&plusmn;", "±")
    # Share axes in percent, money in $B: the same units as the text around them.
    assert ">60%</text>" in html and ">$200B</text>" in html
    # Prior names as words, not snake_case, in the charts.
    assert ">other merchant share 2030</text>" in html


def test_code_in_the_model_doc_reads_as_written():
    from riskmc.report.modeldoc import model_doc
    out = model_doc("`a <= b` and\n\n```\nx < y\n```\n\n<script>alert(1)</script> <a href='http://x'>link</a>")
    assert "<code>a &lt;= b</code>" in out and "x &lt; y" in out
    assert "&amp;lt;" not in out and "<script" not in out and "href" not in out


def test_priors_and_model_are_folded_but_present(base_run):
    html = _html(base_run)
    assert html.count("<details>") == 2 and "<details open" not in html
    assert "custom share 2030" in html.split('<section id="priors">')[1]


def test_year_priors_are_not_rounded(base_run):
    html = _html(base_run)
    mid = base_run.summary["inputs"]["custom_ramp_midpoint"]["implied"]["p50"]
    assert f"{mid:.2f}".rstrip("0").rstrip(".") in html


def test_target_mcse_outcome_is_in_diagnostics(tmp_path):
    met = riskmc.run(BASE, draws=16384, seed=1, target_mcse=0.01)
    assert "Target met" in _html(met) and "16,384 draws" in _html(met)
    missed = riskmc.run(BASE, draws=16384, seed=1, target_mcse=1e-5, max_draws=32768)
    assert "Target missed" in _html(missed)


def test_prior_pictures_come_from_the_cache_as_drawn(base_run, tmp_path, monkeypatch):
    """The priors' pictures are drawn once and read back from riskmc's cache: the same
    report either way; a change to the code that draws them draws them afresh."""
    from riskmc.numeric import cache
    from riskmc.report import pictures
    monkeypatch.setenv("RISKMC_CACHE_DIR", str(tmp_path))
    cache.directory.cache_clear()
    try:
        drawn = [0]
        picture = pictures.prior_picture

        def counted(name, entry):
            drawn[0] += 1
            return picture(name, entry)
        monkeypatch.setattr(pictures, "prior_picture", counted)
        first = _html(base_run)
        n = len(base_run.summary["inputs"])
        assert drawn[0] == n and len(list((tmp_path / "prior-svg").iterdir())) == 1
        assert _html(base_run) == first and drawn[0] == n  # read back, not drawn
        entry = next((tmp_path / "prior-svg").iterdir())
        for damaged in ("[]", '{"svg": 5}', '{"svg": [1, 2]}', "{"):
            entry.write_text(damaged)
            assert _html(base_run) == first  # drawn again, and kept again
        assert drawn[0] == 5 * n and entry.read_text() != "{"
        monkeypatch.setattr(cache, "sources", lambda *modules: "edited")
        assert _html(base_run) == first and drawn[0] == 6 * n  # new code: drawn again
        monkeypatch.setenv("RISKMC_CACHE_DIR", "")  # no cache: drawn every time
        cache.directory.cache_clear()
        assert _html(base_run) == first and drawn[0] == 7 * n
    finally:
        cache.directory.cache_clear()


def test_a_long_fan_chart_title_takes_two_lines_not_the_edge():
    from riskmc.report import svg
    title = "Custom silicon's share of hyperscaler workloads"
    out = svg.fan([2025, 2026], {k: [0.1, 0.2] for k in ("p5", "p25", "p50", "p75", "p95")}, title, str)
    lines = [t.replace("&#x27;", "'") for t in re.findall(r'font-weight="600">([^<]*)</text>', out)]
    assert len(lines) == 2 and " ".join(lines) == title
    assert all(svg.text_width(t) <= 320 - 52 - 10 for t in lines)
    assert ">NVIDIA share</text>" in svg.fan([2025, 2026], {k: [0.1, 0.2] for k in ("p5", "p25", "p50", "p75",
                                                                                      "p95")}, "NVIDIA share", str)


def test_the_first_page_says_what_moves_it_and_experts_have_a_legend(base_run, tmp_path):
    """The headline (the printable first page) names the top drivers of each headline
    output; a linear pool's experts each carry the dashed line the picture draws them with."""
    from typer.testing import CliRunner

    from riskmc.cli import app
    html = render(base_run.summary)
    head = html[html.index('<section id="headline">'):html.index("</section>", html.index('<section id="headline">'))]
    assert "What moves it most" in head and "other merchant share 2030" in head
    out = tmp_path / "ex"
    r = CliRunner().invoke(app, ["run", str(ROOT / "priors" / "experts.toml"), "--draws", "4096", "--seed", "1",
                                 "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    assert html.count('stroke-dasharray="4 2"/></svg> expert <strong>') == 2
