"""Benchmark of notebook 06's digit classifier: the vectorized gradient against the per-example
loop, and one training run's time and held-out accuracy.

Run from the repository root:

    .venv/bin/python benchmarks/training.py [--repeats 7] [--threads 1]

Instructor tooling. The reference functions come from executing the source notebook's code cells
in this process (``tests/support/nbrun.py``), so the benchmark always measures the code the notebook
ships, and no solution has to live in ``course/``, where students could import it.

The two gradients are timed side by side in every repeat (loop, then vectorized, on the same
parameters), and the speed ratio reported is the median of the per-repeat ratios: a repeat slowed
down by another process slows both versions alike and cannot skew the median. BLAS runs on one
thread by default, as in the notebook, so the ratio measures vectorization, not core count.
"""

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from course.datasets import load_digits_split, one_hot
from tests.support.nbrun import SOURCE, run_notebook

NOTEBOOK = SOURCE / "06_classifier_gradient_check" / "classifier_gradient_check.ipynb"
SIZES = (64, 25, 10)
LAMBDA = 1.0
EPSILON = 0.12


def reference_functions(notebook: Path = NOTEBOOK) -> dict:
    """The notebook's namespace after running it quietly; refuses a notebook whose reference fails."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run = run_notebook(notebook)
    if run.failures():
        raise SystemExit(f"{notebook.name}: the reference solution fails: {run.failures()}")
    return run.namespace


def time_once(function, calls: int) -> float:
    """Seconds per call of ``function()``, averaged over ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def speed_ratio(ns: dict, X: np.ndarray, Y: np.ndarray, repeats: int) -> dict:
    """Per-repeat times of both gradients and their ratio (loop time / vectorized time)."""
    theta = ns["init_params"](SIZES, EPSILON, 0)
    np.testing.assert_allclose(  # the two versions must compute the same thing before we race them
        ns["gradient_loop"](theta, X, Y, LAMBDA, SIZES),
        ns["gradient"](theta, X, Y, LAMBDA, SIZES),
        rtol=1e-9,
        atol=1e-14,
    )
    loops, vectorized = [], []
    for _ in range(repeats):
        loops.append(time_once(lambda: ns["gradient_loop"](theta, X, Y, LAMBDA, SIZES), calls=1))
        vectorized.append(time_once(lambda: ns["gradient"](theta, X, Y, LAMBDA, SIZES), calls=20))
    ratios = [t_loop / t_vec for t_loop, t_vec in zip(loops, vectorized)]
    return {"loop": loops, "vectorized": vectorized, "ratios": ratios}


def training_run(ns: dict, digits, Y_train: np.ndarray) -> dict:
    """One training run as the notebook does it: init_params, then train_classifier (L-BFGS)."""
    theta0 = ns["init_params"](SIZES, EPSILON, 0)
    start = time.perf_counter()
    theta, costs = ns["train_classifier"](theta0, digits.X_train, Y_train, LAMBDA, SIZES)
    seconds = time.perf_counter() - start
    correct = int(np.sum(ns["predict"](theta, digits.X_test, SIZES) == digits.y_test))
    return {"seconds": seconds, "iterations": len(costs), "correct": correct, "total": digits.y_test.size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timing repeats for the speed ratio (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1, as in the notebook)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be positive")

    ns = reference_functions()
    digits = load_digits_split(test_size=0.3, seed=0)
    Y_train = one_hot(digits.y_train)
    with threadpool_limits(limits=args.threads):
        timing = speed_ratio(ns, digits.X_train, Y_train, args.repeats)
        run = training_run(ns, digits, Y_train)

    n_train = digits.X_train.shape[0]
    size_text = "-".join(map(str, SIZES))
    print(
        f"gradient of the {size_text} classifier on {n_train} digits, "
        f"{args.threads} BLAS thread(s), {args.repeats} repeats:"
    )
    print(
        f"  per-example loop {statistics.median(timing['loop']) * 1e3:.2f} ms, "
        f"vectorized {statistics.median(timing['vectorized']) * 1e3:.3f} ms (medians)"
    )
    print(
        f"  speed ratio vectorized/per-example: {statistics.median(timing['ratios']):.1f}x "
        f"(median; repeats ranged {min(timing['ratios']):.1f}x to {max(timing['ratios']):.1f}x)"
    )
    print(
        f"one training run (L-BFGS, lambda = {LAMBDA:g}, {run['iterations']} iterations): {run['seconds']:.2f} s, "
        f"held-out accuracy {run['correct'] / run['total']:.3f} ({run['correct']}/{run['total']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
