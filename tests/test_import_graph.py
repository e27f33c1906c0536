"""The package's modules import each other in one direction, layer by layer, without cycles.

Every import counts: top-level ones, those under ``if TYPE_CHECKING`` and those inside
functions. A lazy or typing-only import hides a cycle from Python, not from the reader: it
still means two concepts that cannot be understood, tested or changed one without the other.

``LAYERS`` assigns every module of ``echodsl`` and ``benchmarks`` to a layer by its name
(the longest matching pattern wins; ``*`` stands for one name, a trailing ``$`` for the
module alone, not its submodules); ``ALLOWED`` says which layers each layer may import.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "echodsl"
PACKAGES = ("echodsl", "benchmarks")

LAYERS: dict[str, tuple[str, ...]] = {
    "cli": ("echodsl.cli", "echodsl.__main__"),
    "benchmarks": ("benchmarks",),
    "report": ("echodsl.report",),
    "runner": ("echodsl.runner",),
    "eval": ("echodsl.eval",),
    "runtime": ("echodsl.runtime",),
    "store": ("echodsl.store",),
    "compiler": ("echodsl.compiler",),
    "data": ("echodsl.data",),
    # A family package's torch modules (its storage module, ...) beside its torch-free __init__.
    "memory": ("echodsl.memory", "echodsl.families.*.*"),
    "backbone": ("echodsl.backbone",),
    "api": ("echodsl$",),  # echodsl.load / loads
    "lang": ("echodsl.lang",),
    # The family and read-out registries: configs, language arguments, lowering, token and
    # parameter arithmetic (torch-free; lang and store read them).
    "families": ("echodsl.families",),
    "base": ("echodsl.errors", "echodsl.presets", "echodsl.params", "echodsl.jsonout", "echodsl.cache"),
}

ALLOWED: dict[str, set[str]] = {
    "cli": {"runner", "report", "eval", "runtime", "store", "compiler", "data", "memory", "backbone", "api",
            "lang", "families", "base"},
    "benchmarks": {"cli", "runner", "report", "eval", "runtime", "store", "compiler", "data", "memory",
                   "backbone", "api", "lang", "families", "base"},
    "report": {"eval", "store", "lang", "families", "base"},
    "runner": {"report", "eval", "runtime", "store", "compiler", "data", "lang", "families", "base"},
    "eval": {"runtime", "compiler", "data", "memory", "backbone", "lang", "families", "base"},
    "runtime": {"compiler", "data", "memory", "backbone", "lang", "families", "base"},
    "store": {"lang", "families", "base"},
    "compiler": {"memory", "backbone", "lang", "families", "base"},
    "data": {"backbone", "families", "base"},
    "memory": {"backbone", "families", "base"},
    "backbone": {"base"},
    "api": {"lang", "base"},
    "lang": {"families", "base"},
    "families": {"base"},
    "base": set(),
}

# Allowed only inside a function body: a registry entry's builder imports the torch modules
# it builds when it is called, so importing a registry never imports torch.
LAZY_ONLY: dict[str, set[str]] = {"families": {"memory"}}

# Layers whose modules never import torch at the top: `validate` and `fmt` run without it.
TORCH_FREE = ("api", "lang", "families", "base")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _Imports(ast.NodeVisitor):
    """Every module an AST imports, and whether it imports it outside any function."""

    def __init__(self, name: str, is_package: bool, modules: set[str]):
        self.name, self.is_package, self.modules = name, is_package, modules
        self.found: dict[str, bool] = {}  # module -> imported at the top (outside every function)
        self.depth = 0

    def _add(self, module: str) -> None:
        self.found[module] = self.found.get(module, False) or self.depth == 0

    def _function(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self._add(a.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # relative: resolve against this module's package
            base = self.name.split(".") if self.is_package else self.name.split(".")[:-1]
            base = base[:len(base) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        names = [f"{module}.{a.name}" for a in node.names]
        submodules = [n for n in names if n in self.modules]  # `from pkg import submodule`
        for n in submodules:
            self._add(n)
        if len(submodules) < len(names):  # some name is the package's own attribute
            self._add(module)


def imports(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, dict[str, bool]]:
    """module -> {imported name: imported at the top}, for every module of ``packages``
    under ``root`` (names outside them included, e.g. ``torch``)."""
    paths = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if "migrations" not in path.parts:
                paths[_module_name(path, root)] = path
    out = {}
    for name, path in paths.items():
        visitor = _Imports(name, path.name == "__init__.py", set(paths))
        visitor.visit(ast.parse(path.read_text()))
        out[name] = {m: top for m, top in visitor.found.items() if m != name}
    return out


def graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """module -> the modules of ``packages`` it imports."""
    found = imports(root, packages)
    return {name: {m for m in targets if m in found} for name, targets in found.items()}


def _matches(pattern: str, module: str) -> bool:
    exact = pattern.endswith("$")
    want, have = pattern.rstrip("$").split("."), module.split(".")
    if len(have) < len(want) or (exact and len(have) != len(want)):
        return False
    return all(w in ("*", h) for w, h in zip(want, have))


def layer_of(module: str) -> str | None:
    """The layer of ``module``: its longest matching pattern's (None when none matches)."""
    best = max(((len(p.rstrip("$").split(".")), layer) for layer, patterns in LAYERS.items()
                for p in patterns if _matches(p, module)), default=None)
    return best[1] if best else None


def violations(found: dict[str, dict[str, bool]]) -> list[str]:
    """Every import that ``ALLOWED`` (and ``LAZY_ONLY``) forbids, as ``a -> b (layer -> layer)``."""
    out = []
    for module, targets in sorted(found.items()):
        src = layer_of(module)
        for target, top in sorted(targets.items()):
            if target not in found:
                continue
            dst = layer_of(target)
            if src == dst:
                continue
            lazy_ok = dst in LAZY_ONLY.get(src, set()) and not top
            if dst not in ALLOWED[src] and not lazy_ok:
                how = "at the top" if top else "inside a function"
                out.append(f"{module} -> {target} ({src} -> {dst}, {how})")
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_imports():
    found = imports()
    assert "echodsl.families" in found["echodsl.compiler.plan"]
    assert "echodsl.lang.model" in found["echodsl.lang.checker"]
    assert found["echodsl.families.frames"]["echodsl.families.frames.storage"] is False  # inside build()
    assert "benchmarks.table" in found["benchmarks.readme"]


def test_every_module_has_a_layer_and_every_layer_a_rule():
    assert set(ALLOWED) == set(LAYERS)
    assert all(allowed <= set(LAYERS) for allowed in ALLOWED.values())
    unassigned = [m for m in imports() if layer_of(m) is None]
    assert not unassigned, f"modules in no layer: {unassigned}"
    assert layer_of("echodsl") == "api" and layer_of("echodsl.families.frames") == "families"
    assert layer_of("echodsl.families.frames.storage") == "memory"


def test_imports_follow_the_layers():
    found = violations(imports())
    assert not found, "imports against the layers:\n" + "\n".join(found)


def test_torch_free_layers_never_import_torch_at_the_top():
    found = [f"{m} -> {t}" for m, targets in sorted(imports().items()) if layer_of(m) in TORCH_FREE
             for t, top in targets.items() if top and t.split(".")[0] == "torch"]
    assert not found, found


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize("files, wrong", [
    # lang reaching into the torch modules, lazily
    ({"echodsl/lang/model.py": "def f():\n    from echodsl.memory.base import MemoryState\n"},
     "echodsl.lang.model -> echodsl.memory.base (lang -> memory, inside a function)"),
    # store reaching into the compiler, for typing only
    ({"echodsl/store/rows.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                               "    from echodsl.compiler import plan\n"},
     "echodsl.store.rows -> echodsl.compiler.plan (store -> compiler, at the top)"),
    # a registry importing a family's torch module at the top instead of inside build()
    ({"echodsl/families/frames/__init__.py": "from . import storage\n"},
     "echodsl.families.frames -> echodsl.families.frames.storage (families -> memory, at the top)"),
    # the bottom layer importing the language
    ({"echodsl/errors.py": "def hint():\n    from echodsl.lang import model\n"},
     "echodsl.errors -> echodsl.lang.model (base -> lang, inside a function)"),
])
def test_a_planted_wrong_import_fails(tmp_path, files, wrong):
    blank = {f"echodsl/{p}": "" for p in ("__init__.py", "errors.py", "lang/__init__.py", "lang/model.py",
                                          "memory/__init__.py", "memory/base.py", "store/__init__.py",
                                          "compiler/__init__.py", "compiler/plan.py", "families/__init__.py",
                                          "families/frames/__init__.py", "families/frames/storage.py")}
    root = _tree(tmp_path, {**blank, "benchmarks/__init__.py": "", **files})
    assert violations(imports(root)) == [wrong]


def test_a_lazy_builder_import_is_allowed(tmp_path):
    root = _tree(tmp_path, {"echodsl/__init__.py": "", "echodsl/families/__init__.py": "",
                            "echodsl/families/frames/__init__.py": "def build():\n    from . import storage\n",
                            "echodsl/families/frames/storage.py": "import torch\n", "benchmarks/__init__.py": ""})
    assert violations(imports(root)) == []


def test_no_import_cycles():
    found = cycles(graph(packages=("echodsl",)))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_import_cycles_in_the_benchmarks():
    edges = graph(packages=("benchmarks",))
    assert "benchmarks.table" in edges["benchmarks.readme"]
    found = cycles(edges)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_documented_table_is_this_one():
    """docs/contracts.md's layers table says what ``ALLOWED`` says."""
    text = (ROOT / "docs" / "contracts.md").read_text()
    section = text[text.index("## Layers"):]
    section = section[:section.index("\n## ")]
    rows = [line.split("|")[1:4] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| layer")]
    documented = {}
    for layers, _, allowed in rows:
        for layer in layers.strip().split(", "):
            may = allowed.strip().replace("; memory only inside a builder", "")
            documented[layer] = ("below" if may == "everything below" else
                                 set() if may == "nothing" else set(may.split(", ")))
    assert set(documented) == set(ALLOWED)
    for layer, may in documented.items():
        if may == "below":
            may = set(ALLOWED) - {"cli", "benchmarks"} | ({"cli"} if layer == "benchmarks" else set())
        assert may == ALLOWED[layer], layer
    assert LAZY_ONLY == {"families": {"memory"}}
