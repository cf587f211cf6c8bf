"""ladder-bench: time, profile, count and compare a ladder of implementations of one
function, declared in a project's ``pyproject.toml`` under ``[tool.ladder-bench]``.

One command, ``ladder-bench COMMAND`` (``python -m ladder_bench``), with a subcommand per
tool: ``ladder-bench --help`` lists them.
"""
