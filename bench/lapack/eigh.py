"""LAPACK's symmetric eigensolvers (SciPy, float32) on a matrix saved by `eigenpro bench eigh --save-matrix`.

Prints, per driver, the best time of `--repeats` runs and the same accuracy measures as `eigenpro bench eigh`:
max over pairs of ||Av - lambda v|| / ||A||_F and max |V^T V - I|, both in float64.
Usage: python3 bench/lapack/eigh.py MATRIX.npy [--k K] [--repeats R]
"""
import argparse
import time

import numpy as np
import scipy.linalg as sl


def accuracy(a64, w, v):
    v64 = v.astype(np.float64)
    r = a64 @ v64 - v64 * w.astype(np.float64)
    residual = np.max(np.linalg.norm(r, axis=0)) / np.linalg.norm(a64)
    orthogonality = np.max(np.abs(v64.T @ v64 - np.eye(v.shape[1])))
    return residual, orthogonality


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("matrix")
    parser.add_argument("--k", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    a = np.load(args.matrix).astype(np.float32)
    n = a.shape[0]
    a64 = a.astype(np.float64)
    runs = [("evd", None), ("evr", None)] if args.k in (None, n) else [("evr", [n - args.k, n - 1])]
    for driver, subset in runs:
        best, result = float("inf"), None
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = sl.eigh(a, driver=driver, subset_by_index=subset, check_finite=False)
            best = min(best, time.perf_counter() - start)
        residual, orthogonality = accuracy(a64, *result)
        k = result[1].shape[1]
        print(f"lapack {driver} n={n} k={k}: {best * 1e3:.1f} ms, max_residual {residual:.3e}, "
              f"max_orthogonality_error {orthogonality:.3e}", flush=True)


if __name__ == "__main__":
    main()
