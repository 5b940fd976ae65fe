"""The folders show the flow: no import runs back up it, no module grows past a screenful
of ideas (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "riskmc"

# The wings in flow order; a module may import its own wing and any earlier one. The
# ground (errors, interrupt, the version) and store/ (files, folders, the text reader
# every file-reading step shares) come first because every step reads or writes files.
ORDER = ("__init__ errors interrupt results", "store schemas", "numeric", "model", "settings", "priors",
         "report", "loading", "kernel", "inference", "runs", "ask", "analyze", "api", "cli __main__")
RANK = {name: i for i, names in enumerate(ORDER) for name in names.split()}
# Leaves that import nothing of riskmc may be used from anywhere: number formatting.
LEAVES = {"riskmc.report.fmt"}
# The one circle left: a Model pickles itself by the file that defines it.
ALLOWED = {("riskmc.model.spec", "riskmc.model.files")}
LONGEST = 420


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _wing(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or not (ROOT / parts[1]).is_dir() and not (ROOT / f"{parts[1]}.py").is_file():
        return "__init__"  # riskmc itself, or a name it defines (__version__)
    return parts[1]


def _imports(module: str, path: Path):
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("riskmc"))
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if not target.startswith("riskmc"):
                continue
            if node.module is None:  # from . import a, b: each is a module
                yield from (f"{target}.{a.name}" for a in node.names)
            else:
                yield target


def test_every_module_is_in_a_wing():
    assert {_wing(m) for m, _ in _modules()} <= set(RANK)


def test_no_import_runs_back_up_the_flow():
    upward = []
    for module, path in _modules():
        for target in _imports(module, path):
            if target in LEAVES or (module, target) in ALLOWED:
                continue
            if RANK[_wing(target)] > RANK[_wing(module)]:
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_no_module_is_too_long_to_read():
    long = [f"{m}: {n} lines" for m, p in _modules() if (n := len(p.read_text().splitlines())) > LONGEST]
    assert long == []


def test_at_most_eight_modules_at_the_top():
    top = [p.name for p in ROOT.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= 8, top
