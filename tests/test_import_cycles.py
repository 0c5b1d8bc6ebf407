"""No two modules import each other, directly or through others (issue 12).

Modules caught in a cycle cannot be understood, tested or replaced one at a
time, and break at import time as soon as one of them moves an import to the
top. Imports inside functions count too: they are still a dependency.
"""

from __future__ import annotations

import grimp


def _a_cycle(imports: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, ..., a], or [] when there is none (iterative DFS)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(imports):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(imports[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(imports[nxt])))
    return []


def test_cycle_finder_finds_one() -> None:
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph("kiosk", "hardware", "center", cache_dir=None)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    cycle = _a_cycle(imports)
    assert cycle == [], "import cycle: " + " -> ".join(cycle)
