"""Writes the .npy/.npz fixtures with real NumPy (run: python3 make_fixtures.py; needs python3-numpy).
Values are simple formulas so the C# tests can recompute them: a[i, j] = i * 10 + j (+ 0.5 for floats)."""
import numpy as np

def table(rows, cols, dtype, frac=0.0):
    i, j = np.indices((rows, cols))
    return (i * 10 + j + frac).astype(dtype)

np.save("f4_c.npy", table(3, 4, np.float32, 0.5))
np.save("f8_fortran.npy", np.asfortranarray(table(3, 4, np.float64, 0.5)))
np.save("f8_big_endian.npy", table(2, 3, ">f8", 0.5))
np.save("i8_1d.npy", np.arange(5, dtype=np.int64) - 2)
np.save("u1_c.npy", table(2, 5, np.uint8))
np.save("bool_1d.npy", np.array([True, False, True]))
np.save("i4_3d_fortran.npy", np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4)))
np.save("scalar_f8.npy", np.float64(3.25))
np.save("empty_f4.npy", np.zeros((0, 3), dtype=np.float32))
np.lib.format.write_array(open("f4_v2.npy", "wb"), table(2, 2, np.float32, 0.5), version=(2, 0))
np.save("object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
np.save("structured.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
# A table for --data: 6 rows, 2 features, label last.
np.save("table.npy", np.array([[0, 0, 0], [0, 1, 0], [1, 0, 1], [1, 1, 1], [5, 5, 2], [5, 6, 2]], dtype=np.float64))
x = table(6, 3, np.float32, 0.5)
y = np.array([0, 1, 2, 0, 1, 2], dtype=np.int64)
np.savez("dataset.npz", X=x, y=y, X_test=x[:2], y_test=y[:2])
np.savez_compressed("dataset_compressed.npz", X=x, y=y)
