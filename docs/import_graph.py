"""The import graph of redraft's top-level folders, from the source alone (`ast`, nothing imported); exit 1 on a cycle.

  python docs/import_graph.py          # folder -> the folders it imports, with the count of import lines
  python docs/import_graph.py --files  # the same between files, and any cycle among them

Every `import` counts, at the top of a file or inside a function alike. `redraft/cli.py` is the entry point that
imports every stage: it is left out of the folder graph (a command line sits above the stages it calls, and with it
every folder would reach every other one), and shown on its own line.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("redraft", "synth", "filters", "recipes", "trainer", "evals")
ENTRY = "redraft/cli.py"


def module_of(path: Path) -> str:
    """redraft.synth.step for synth/step.py (the folders install under the `redraft` namespace)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(parts if parts[0] == "redraft" else ["redraft", *parts])


def folder_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FOLDERS[1:] else "redraft"


def imports(path: Path) -> set[str]:
    """The redraft modules `path` imports (relative imports resolved)."""
    package = module_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(x for x in (base, node.module) if x)
            found |= {module} | {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m == "redraft" or m.startswith("redraft.")}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v), on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                on.discard(w), group.append(w)
            on.discard(v)
            if group:
                out.append(sorted([v, *group]))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", action="store_true", help="the graph between files, not folders")
    a = parser.parse_args()
    files = sorted(p for f in FOLDERS for p in (ROOT / f).rglob("*.py"))
    modules = {module_of(p): p for p in files}
    known = lambda m: m if m in modules else m.rpartition(".")[0] if m.rpartition(".")[0] in modules else None
    file_graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        file_graph[module] = {t for m in imports(path) if (t := known(m)) and t != module}
    folders: dict[str, dict[str, int]] = {f: defaultdict(int) for f in FOLDERS}
    for module, targets in file_graph.items():
        if str(modules[module].relative_to(ROOT)) == ENTRY:
            continue
        for t in targets:
            if folder_of(t) != folder_of(module):
                folders[folder_of(module)][folder_of(t)] += 1
    if a.files:
        for module in sorted(file_graph):
            print(f"{module} -> {', '.join(sorted(file_graph[module])) or '-'}")
        found = cycles(file_graph)
    else:
        for f in FOLDERS:
            print(f"{f:8} -> {', '.join(f'{t} ({n})' for t, n in sorted(folders[f].items())) or '-'}")
        entry = sorted({folder_of(t) for t in file_graph[module_of(ROOT / ENTRY)]})
        print(f"{ENTRY} (entry point) -> {', '.join(entry)}")
        found = cycles({f: set(ts) for f, ts in folders.items()})
    for group in found:
        print(f"cycle: {' <-> '.join(group)}", file=sys.stderr)
    print(f"{len(found)} cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
