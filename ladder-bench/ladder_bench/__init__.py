"""ladder-bench: time, profile, count and compare a ladder of implementations of one
function, declared in a project's ``pyproject.toml`` under ``[tool.ladder-bench]``.

The commands (each also ``python -m ladder_bench.<module>``): ``ladder-bench`` (the
pipeline), ``ladder-measure``, ``ladder-timings``, ``ladder-criterion``, ``ladder-scale``,
``ladder-instructions``, ``ladder-compare``. See docs/pipeline.md in the repository.
"""
