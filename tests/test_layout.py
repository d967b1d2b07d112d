"""The shape of the code the README's Layout section promises, checked on the source."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "jupyter_carbon"
MAX_LINES = 300


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name: str, path: Path) -> set[str]:
    """Every jupyter_carbon module ``name`` imports, at top level or inside functions
    (``TYPE_CHECKING`` blocks excepted: they never run)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    out: set[str] = set()

    def visit(node, typing_only=False):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("jupyter_carbon"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                mod = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("jupyter_carbon"):
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def test_no_import_cycle_between_modules_counting_imports_inside_functions():
    mods = dict(_modules())
    graph = {m: {i for i in _imports(m, p) if i in mods and i != m} for m, p in mods.items()}
    # a package's __init__ re-exporting its children is not a cycle of the children
    for m in graph:
        graph[m] = {i for i in graph[m] if not (m.startswith(i + ".") and mods[i].name == "__init__.py")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m):
        state[m] = 1
        stack.append(m)
        for n in graph[m]:
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                dfs(n)
        stack.pop()
        state[m] = 2

    for m in graph:
        if m not in state:
            dfs(m)


def test_no_generated_code_and_small_modules():
    for name, path in _modules():
        src = path.read_text()
        assert len(src.splitlines()) <= MAX_LINES, f"{name} has {len(src.splitlines())} lines"
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("exec", "eval", "compile"), f"{name}: {node.func.id}() call"


def test_the_engine_knows_no_grid_factor_and_no_output():
    for name, path in _modules():
        if name.startswith("jupyter_carbon.engine"):
            deps = _imports(name, path)
            bad = {d for d in deps if d.startswith(("jupyter_carbon.intensity", "jupyter_carbon.session",
                                                    "jupyter_carbon.outputs", "jupyter_carbon.widget"))}
            assert not bad, f"{name} imports {bad}"


def _catches_everything(handler: ast.ExceptHandler) -> bool:
    t = handler.type
    names = [t] if isinstance(t, ast.Name) else list(t.elts) if isinstance(t, ast.Tuple) else []
    return t is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException") for n in names)


def test_every_exception_swallowed_is_logged():
    """A broad ``except`` keeps the user's kernel safe; it must leave a debug trace (with the
    traceback) for whoever turns the package logger on, re-raise, or hand the exception on
    (to a sensor's ``fail``, a Future, a handler that logs it)."""
    silent = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ExceptHandler) or not _catches_everything(node):
                continue
            body = ast.unparse(ast.Module(body=node.body, type_ignores=[]))
            logged = "log." in body and "exc_info" in body
            handed_on = any(isinstance(n, ast.Raise) for n in ast.walk(node)) or (
                node.name is not None and any(isinstance(n, ast.Call) and any(
                    isinstance(a, ast.Name) and a.id == node.name for a in n.args) for n in ast.walk(node)))
            if not (logged or handed_on):
                silent.append(f"{name}:{node.lineno}")
    assert not silent, f"exceptions swallowed without a debug log: {silent}"


def test_the_cpu_name_is_read_in_one_place():
    def reads_it(path):
        return any(isinstance(n, ast.Constant) and n.value in ("model name", "/proc/cpuinfo")
                   for n in ast.walk(ast.parse(path.read_text())))

    assert [name for name, path in _modules() if reads_it(path)] == ["jupyter_carbon.hardware.cpuinfo"]
