"""Running a ``%%carbon`` body exactly as IPython runs a cell.

The body is transformed by the shell (so it is dedented, and may hold other cell magics
such as ``%%time`` or line magics), cached under the cell's own name so tracebacks and
``%debug`` list the user's lines at their real line numbers, executed in the user's
namespace, and its last expression is returned (it becomes ``Out[n]``, as without the
magic; a trailing ``;`` hides it).
"""
from __future__ import annotations

import ast
from typing import Any


def run_body(shell: Any, first_line: str, body: str) -> Any:
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
    code = shell.transform_cell(body)
    # Line 1 of the cell is the %%carbon line: one blank line keeps the body's numbers.
    source = "\n" + code
    name = shell.compile.cache(source, shell.execution_count, raw_code=f"{first_line}\n{body}")
    tree = shell.compile.ast_parse(source, filename=name)
    tree = shell.transform_ast(tree)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    # the shell's own compiler (its __future__ flags) and its ex/ev, in the user's namespace
    if tree.body:
        shell.ex(shell.compile(tree, name, "exec"))
    if last is not None:
        return shell.ev(shell.compile(last, name, "eval"))
    return None
