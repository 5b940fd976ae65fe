"""Docs that cannot drift: the README's Python snippet runs and its commands exist."""

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_python_snippet_runs(tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    code = code.replace('draws=50_000', 'draws=20_000').replace('"reports/notebook"', repr(str(tmp_path / "nb")))
    monkeypatch.chdir(ROOT)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert (tmp_path / "nb" / "report.html").exists() and (tmp_path / "nb" / "summary.json").exists()
    assert set(scope["result"].summary["claims"]) == {"C1", "C2", "C3", "C4"}


def test_readme_commands_exist():
    from typer.main import get_command

    from riskmc.cli import app
    group = get_command(app)
    # Commands as the README shows them: in code spans, or after .venv/bin/.
    cmds = set(re.findall(r"(?:bin/|`|\t)riskmc ([a-z]+)", README))
    assert {"run", "priors"} <= cmds
    for cmd in cmds:
        assert cmd in group.commands, cmd
    make_targets = set(re.findall(r"make ([a-z-]+)", README))
    makefile = (ROOT / "Makefile").read_text()
    for t in make_targets - {"reports"}:
        assert re.search(rf"^{t}:", makefile, re.M), t


def test_exit_codes_agree():
    from riskmc.errors import EXIT_CODES
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", README, re.M), code
