"""The package's modules import each other without cycles.

Every import counts: top-level ones, those under ``if TYPE_CHECKING`` and those inside
functions. A lazy or typing-only import hides a cycle from Python, not from the reader: it
still means two concepts that cannot be understood, tested or changed one without the other.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "echodsl"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, name: str, is_package: bool, modules: set[str]) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [f"{module}.{a.name}" for a in node.names]
            submodules = [n for n in names if n in modules]  # `from pkg import submodule`
            out.update(submodules)
            if len(submodules) < len(names):  # some name is the package's own attribute
                out.add(module)
    return out


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {}
    for path in package.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        modules[_module_name(path)] = path
    edges = {}
    for name, path in modules.items():
        imports = _imports(ast.parse(path.read_text()), name, path.name == "__init__.py", set(modules))
        edges[name] = {m for m in imports if m in modules and m != name}
    return edges


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
    edges = graph()
    assert "echodsl.families" in edges["echodsl.compiler.plan"]
    assert "echodsl.lang.model" in edges["echodsl.lang.checker"]


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_import_cycles_in_the_benchmarks():
    edges = graph(ROOT / "benchmarks")
    assert "benchmarks.table" in edges["benchmarks.readme"]
    found = cycles(edges)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)
