"""GPU benchmark: the inventory policy simulation (toolkit.decisions.inventory) on CuPy vs on NumPy.

``simulate_policy`` steps every series through the days together (one array operation per
step for all series), so the GPU pays off when many series are simulated at once. Data:
``--rows`` demand cells = ``rows // days`` series x ``--days`` days of Poisson demand with
per-series means; lead times 0-6 days; costs per series. Cases: ``base_stock`` (daily
review, lost sales) and ``sS`` (review every 7 days, backorders), public API with its input
checks. No peer: no library we know of simulates many replenishment policies at once.

Agreement: every KPI within rtol 1e-9, atol 1e-9 (the same arithmetic in the same order).
"""

from __future__ import annotations

import sys

import numpy as np

from gpu_common import Run, agreement, arguments, select_device, time_call

SIZES = {"rows": 100_000_000, "days": 365}
TINY = {"rows": 20_000, "days": 60}
TOL = (1e-9, 1e-9)
CASES = {
    "base_stock": {"review_period": 1, "backorders": False},
    "sS": {"review_period": 7, "backorders": True},
}


def make_inputs(rows: int, days: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = max(1, rows // days)
    mean = rng.uniform(0.5, 40.0, n)
    demand = rng.poisson(mean[:, None], size=(n, days)).astype(np.float64)
    lead = rng.integers(0, 7, n)
    S = mean * (lead + 3) + 2.0 * np.sqrt(mean * (lead + 3))
    return {"demand": demand, "lead": lead, "S": S, "s": 0.6 * S, "holding": rng.uniform(0.05, 0.5, n),
            "shortage": rng.uniform(1.0, 10.0, n), "ordering": rng.uniform(0.0, 20.0, n)}


def simulate(inputs: dict, policy: str, put) -> dict:
    from toolkit.decisions.inventory import simulate_policy

    params = {"S": put(inputs["S"])} if policy == "base_stock" else {"s": put(inputs["s"]), "S": put(inputs["S"])}
    return simulate_policy(put(inputs["demand"]), policy, params, put(inputs["lead"]),
                           holding_cost=put(inputs["holding"]), shortage_cost=put(inputs["shortage"]),
                           ordering_cost=put(inputs["ordering"]), **CASES[policy])


def main() -> int:
    args = arguments(__doc__, SIZES, TINY)
    device = select_device(args.device)
    run = Run("inventory", device, args)
    run.skip("peer", "no peer library simulates many replenishment policies at once")
    host = make_inputs(args.rows, args.days, args.seed)
    dev = {k: device.put(v) for k, v in host.items()}
    small = {k: v[:50] for k, v in host.items()}
    n, days = host["demand"].shape
    for policy in CASES:
        timings = {"device": time_call(lambda: simulate(dev, policy, lambda a: a), device, args.repeat),
                   "cpu": time_call(lambda: simulate(host, policy, lambda a: a), None, args.cpu_repeat,
                                    warmup=lambda: simulate(small, policy, lambda a: a))}
        got, want = timings["device"].result, timings["cpu"].result
        checks = [agreement(kpi, got[kpi], want[kpi], *TOL) for kpi in want]
        run.case(policy, timings, n * days, checks, {"series": n, "days": days, **CASES[policy]})
        device.free()
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
