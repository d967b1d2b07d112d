"""Side-by-side benchmarks of jupyter-carbon against no tracking and against CodeCarbon.

Run everything with ``python -m benchmarks`` (``--quick`` for a short smoke run, ``--out PATH``
for where the markdown table goes). Each benchmark lives in its own module and exposes
``run(cfg) -> list[Row]``; ``report`` turns the rows into the table.
"""
