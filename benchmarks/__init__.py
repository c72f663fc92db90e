"""Benchmarks (`make bench`): the warm site that is measured (warm_site.py, bare_app.py), the load generator
(load.py) and the harness that prints the table (run.py). Outside pytest's testpaths: `make test` never runs them."""
