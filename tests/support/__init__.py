"""What the tests (and the benchmarks) share: running notebooks in-process, building courses and
submissions, reading gradebooks back, independent reference routes, the browser harness."""
