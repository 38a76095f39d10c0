"""The benchmark: `python -m bench` (or `nox -s bench`) measures the dispatcher against
ceilings taken in the same run, and writes `bench/results/latest.{json,md}`."""
