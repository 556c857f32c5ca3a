"""Vectorised policy simulation vs a per-SKU Python loop, in one process.

The peer is what single-item inventory libraries do (stockpyl's simulation, for instance,
steps one item through its periods in Python): a plain loop over SKUs, then over days. It
implements the same rules as :func:`toolkit.decisions.inventory.simulate_policy` (lost sales,
(s,S) with per-SKU lead times), and the script checks that both give the same KPIs before it
prints the time ratio and the peak memory of each side (tracemalloc, in a separate untimed run).

Run: ``flock /tmp/bench.lock .venv/bin/python benchmarks/bench_inventory.py --skus 2000 --days 365``
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections import defaultdict

import numpy as np

from toolkit.decisions import inventory as inv


def loop_simulation(demand, s, S, lead, h, p, k):
    """Per-SKU, per-day Python loop for (s,S) with lost sales; returns total cost and fill rate."""
    n, T = demand.shape
    total_cost, fill = np.empty(n), np.empty(n)
    for i in range(n):
        net, pipeline, cost, served_sum = S[i], defaultdict(float), 0.0, 0.0
        for t in range(T):
            net += pipeline.pop(t, 0.0)
            position = net + sum(pipeline.values())
            if position <= s[i]:
                q = S[i] - position
                cost += k
                if lead[i] == 0:
                    net += q
                else:
                    pipeline[t + int(lead[i])] += q
            d = demand[i, t]
            served = min(d, max(net, 0.0))
            net -= served
            served_sum += served
            cost += h * net + p * (d - served)
        total_cost[i], fill[i] = cost, served_sum / max(demand[i].sum(), 1e-12)
    return total_cost, fill


def vectorised(demand, s, S, lead, h, p, k):
    kpi = inv.simulate_policy(demand, "sS", {"s": s, "S": S}, lead, holding_cost=h, shortage_cost=p, ordering_cost=k)
    return kpi["total_cost"], kpi["fill_rate"]


def timed(fn, *args, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_mib(fn, *args):
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n, T = args.skus, args.days
    rate = rng.uniform(1, 40, n)
    demand = rng.poisson(rate[:, None] * np.ones((n, T))).astype(float)
    lead = rng.integers(0, 11, n)
    s = rate * (lead + 1) * 1.2
    S = s + rate * rng.uniform(3, 10, n)
    h, p, k = 0.2, 4.0, 15.0

    t_vec, (cost_vec, fill_vec) = timed(vectorised, demand, s, S, lead, h, p, k, repeat=3)
    t_loop, (cost_loop, fill_loop) = timed(loop_simulation, demand, s, S, lead, h, p, k)
    diff = max(np.max(np.abs(cost_vec - cost_loop) / np.maximum(cost_loop, 1.0)), np.max(np.abs(fill_vec - fill_loop)))
    mem_vec = peak_mib(vectorised, demand, s, S, lead, h, p, k)
    mem_loop = peak_mib(loop_simulation, demand, s, S, lead, h, p, k)
    print(f"simulate (s,S) lost sales: {n} SKUs x {T} days, lead times 0-10 days")
    print(f"per-SKU Python loop : {t_loop:8.3f} s   peak {mem_loop:7.2f} MiB")
    print(f"vectorised (numpy)  : {t_vec:8.3f} s   peak {mem_vec:7.2f} MiB")
    print(f"speed ratio loop/vectorised: {t_loop / t_vec:.1f}x   max KPI difference: {diff:.2e}")


if __name__ == "__main__":
    main()
