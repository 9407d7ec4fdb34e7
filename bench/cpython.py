"""CPython's concurrent.futures on the same workloads as threads.mjs / processes.mjs.

Usage: python3 cpython.py thread|process WORKLOAD UNITS  -> prints one JSON line.
"""
import json
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait


def tiny(x):
    return x


def work(n):
    acc = 0.0
    for i in range(n):
        acc = (acc + (i ** 0.5) * 1.0000001) % 1e9
    return acc


def report(value):
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"value": value, "rss": rss_mb + children}))


def main():
    kind, workload, units = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # Python's loop is ~50x slower than V8's: scale the CPU task to ~20 ms too.
    units = max(1, units // 50)
    pool_class = ThreadPoolExecutor if kind == "thread" else ProcessPoolExecutor
    n = {"W1": 100_000, "W1-map": 100_000, "W2": 20_000, "W3": 64, "MEM": 1_000_000}[workload]
    if kind == "process" and workload in ("W1", "W2"):
        n //= 10
    with pool_class(2) as ex:
        wait([ex.submit(tiny, i) for i in range(8)])
        if workload in ("W1", "MEM"):
            t0 = time.perf_counter()
            fs = [ex.submit(tiny, i) for i in range(n)]
            for f in fs:
                f.result()
            dt = time.perf_counter() - t0
            if workload == "W1":
                report(n / dt)
            else:
                report(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        elif workload == "W1-map":
            t0 = time.perf_counter()
            count = sum(1 for _ in ex.map(tiny, range(n), chunksize=256))
            assert count == n
            report(n / (time.perf_counter() - t0))
        elif workload == "W2":
            for i in range(500):
                ex.submit(tiny, i).result()
            t0 = time.perf_counter()
            for i in range(n):
                ex.submit(tiny, i).result()
            report((time.perf_counter() - t0) * 1e6 / n)
        elif workload == "W3":
            s0 = time.perf_counter()
            for _ in range(4):
                work(units)
            serial = (time.perf_counter() - s0) / 4
            t0 = time.perf_counter()
            wait([ex.submit(work, units) for _ in range(n)])
            report(serial * n / (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
