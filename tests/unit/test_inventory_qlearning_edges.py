"""The Q-learning replenishment agent against hand traces, a scalar reference and closed-form optima (issue 19).

The old test only asked the agent to beat a policy that never orders. Here:

* one training run is traced by hand (learning rate, discount, reward of every transition);
* training on random problems (lead times 0..3, lost sales and backorders, ordering costs, a
  series without demand and one with demand below one unit) equals a plain scalar
  re-implementation of the documented algorithm, Q-table entry for entry;
* on a deterministic problem the greedy policy orders up to the closed-form optimal
  base-stock level ``d (L + 1)`` and costs no more than the best base-stock level found by
  enumeration with the same simulator;
* on Poisson demand its cost stays within a stated margin of the best base-stock level.

The random draws are scripted with :class:`ScriptedGenerator`, which stands in for NumPy's
generator and answers each kind of draw (start day, exploration uniforms, random actions,
starting stock) from a script, whatever order the agent draws them in; it records the
distribution asked for, so the sampling ranges are checked too.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.stats import poisson
from sklearn.exceptions import NotFittedError

from toolkit.decisions import inventory as inv
from toolkit.decisions.inventory import kernel, qlearning
from toolkit.errors import DataValidationError


class ScriptedGenerator:
    """Stand-in for ``numpy.random.Generator``: per episode, the draws of a script.

    ``episodes`` is a list of ``(start_day (n,), explore_u (days, n), random_action (days, n),
    start_u (n,))``. ``integers``/``random`` tell the kinds apart by ``size`` (a tuple for
    the per-day draws) and record the ranges asked for in ``calls``.
    """

    def __init__(self, episodes):
        self.script = {kind: [ep[i] for ep in episodes] for i, kind in enumerate(("start", "explore", "action", "u0"))}
        self.calls = []

    def _next(self, kind):
        return np.asarray(self.script[kind].pop(0))

    def integers(self, low, high=None, size=None):
        if high is None:  # numpy's integers(high) draws from [0, high)
            low, high = 0, low
        kind = "action" if isinstance(size, tuple) else "start"
        self.calls.append((kind, low, high, size))
        return self._next(kind)

    def random(self, size=None):
        kind = "explore" if isinstance(size, tuple) else "u0"
        self.calls.append((kind, size))
        return self._next(kind)


def scripted_fit(monkeypatch, agent, demand, lead, episodes):
    generator = ScriptedGenerator(episodes)
    seeds = []

    def default_rng(seed=None):
        seeds.append(seed)
        return generator

    monkeypatch.setattr(np.random, "default_rng", default_rng)
    agent.fit(demand, lead)
    monkeypatch.undo()
    assert seeds == [agent.random_state]
    assert all(not v for v in generator.script.values()), "every scripted draw is used"
    return generator.calls


# --------------------------------------------------------------------------- a training run by hand


def test_q_update_matches_a_hand_trace(monkeypatch):
    """Two episodes of four days, one series, constant demand 2, lead time 0, lost sales.

    Bins: mean 2, std 0 -> top = 2 * (0 + 1) = 2, bin width = state_span * 2 / n_states = 1,
    so state 0 is a position in [0, 1) and state 1 anything >= 1. Action unit = order_span *
    (2 + 0) / (n_actions - 1) = 2: actions order 0, 2 or 4 units. h = 1, p = 10, K = 1,
    learning rate 0.5, discount 0.9.
    """
    agent = inv.QLearningReplenisher(n_states=2, n_actions=3, episodes=2, episode_days=4, learning_rate=0.5,
                                     discount=0.9, epsilon_start=1.0, epsilon_end=0.0, state_span=1.0,
                                     order_span=2.0, holding_cost=1.0, shortage_cost=10.0, ordering_cost=1.0,
                                     progress=False)
    demand = np.full((1, 6), 2.0)
    episodes = [
        # episode 0: epsilon 1 -> every u (0) explores; actions 0, 0, 1, 2; start stock 0.75 * 1 * 2 = 1.5
        ([0], np.zeros((4, 1)), [[0], [0], [1], [2]], [0.75]),
        # episode 1: epsilon 0 -> u = 0 is not < 0: greedy all along (the scripted random actions, 0, are
        # never taken); start stock 0.25 * 2 = 0.5
        ([3], np.zeros((4, 1)), np.zeros((4, 1), dtype=int), [0.25]),
    ]
    scripted_fit(monkeypatch, agent, demand, 0, episodes)
    np.testing.assert_allclose(agent.bin_width_, [1.0])
    np.testing.assert_allclose(agent.action_unit_, [2.0])
    q = np.zeros((2, 3))
    # episode 0
    q[1, 0] = 0.5 * (-5.0 + 0.9 * 0.0)        # pos 1.5, order 0, sell 1.5, lose 0.5 (p=10) -> state 0
    q[0, 0] = 0.5 * (-20.0 + 0.9 * 0.0)       # pos 0, order 0, lose 2 -> state 0
    q[0, 1] = 0.5 * (-1.0 + 0.9 * 0.0)        # order 2 (K=1), sell 2 -> state 0 (max Q[0] = 0, action 2 untried)
    q[0, 2] = 0.5 * (-3.0 + 0.9 * 0.0)        # order 4, sell 2, hold 2 -> state 1 (max Q[1] = 0)
    # episode 1, greedy: Q[0] = [-10, -0.5, -1.5]
    q[0, 1] += 0.5 * (-1.5 + 0.9 * q[0, 1] - q[0, 1])  # pos 0.5, order 2, hold 0.5, K -> state 0
    q[0, 1] += 0.5 * (-1.5 + 0.9 * q[0, 1] - q[0, 1])  # the same again (Q[0, 1] = -1.225 still the best)
    assert q[0, 1] < q[0, 2]                            # now action 2 is greedy
    q[0, 2] += 0.5 * (-3.5 + 0.9 * q[1].max() - q[0, 2])  # order 4, hold 2.5, K -> state 1 (max Q[1] = 0)
    assert np.argmax(q[1]) == 1                          # Q[1] = [-2.5, 0, 0]: argmax takes the first best
    q[1, 1] += 0.5 * (-3.5 + 0.9 * q[1].max() - q[1, 1])  # pos 2.5, order 2, hold 2.5, K -> state 1
    np.testing.assert_allclose(agent.q_table_[0], q, rtol=0, atol=1e-12)
    np.testing.assert_allclose(q, [[-10.0, -1.91375, -2.5], [-2.5, -1.75, 0.0]])
    np.testing.assert_allclose(agent.order_table(), [[2.0 * np.argmax(q[0]), 2.0 * np.argmax(q[1])]])


# --------------------------------------------------------------------------- a scalar reference


def reference_q_table(demand, lead, episodes, *, n_states, n_actions, learning_rate, discount, epsilon_start,
                      epsilon_end, state_span, order_span, holding_cost, shortage_cost, ordering_cost, backorders):
    """Tabular Q-learning as documented, one series at a time, with plain Python stock keeping."""
    n, T = demand.shape
    q = np.zeros((n, n_states, n_actions))
    widths, units = np.zeros(n), np.zeros(n)
    for i in range(n):
        d, L = demand[i], int(lead[i])
        top = d.mean() * (L + 1) + 3.0 * d.std() * np.sqrt(L + 1)
        width = state_span * top / n_states if top > 0 else 1.0
        high = d.mean() + 3.0 * d.std()
        unit = order_span * high / (n_actions - 1) if high > 0 else 0.0
        widths[i], units[i] = width, unit

        def state(position, width=width):
            return int(min(max(np.floor(position / width), 0), n_states - 1))

        for e, (start, explore_u, random_action, start_u) in enumerate(episodes):
            epsilon = epsilon_start + e / max(len(episodes) - 1, 1) * (epsilon_end - epsilon_start)
            net, arriving = start_u[i] * width * n_states, {}
            s = state(net)
            for t in range(explore_u.shape[0]):
                net += arriving.pop(t, 0.0)
                a = int(random_action[t, i]) if explore_u[t, i] < epsilon else int(np.argmax(q[i, s]))
                quantity = a * unit
                if L == 0:
                    net += quantity
                else:
                    arriving[t + L] = arriving.get(t + L, 0.0) + quantity
                day = d[(start[i] + t) % T]
                sold = min(day, max(net, 0.0))
                net -= day if backorders else sold
                short = max(-net, 0.0) if backorders else day - sold
                cost = holding_cost * max(net, 0.0) + shortage_cost * short + ordering_cost * (quantity > 0)
                s_next = state(net + sum(arriving.values()))
                q[i, s, a] += learning_rate * (-cost + discount * q[i, s_next].max() - q[i, s, a])
                s = s_next
    return q, widths, units


@pytest.mark.parametrize("backorders", [False, True])
def test_training_matches_a_scalar_reference(monkeypatch, backorders):
    rng = np.random.default_rng(11 + backorders)
    n, T, days, n_episodes, n_actions = 5, 30, 40, 5, 4
    demand = rng.poisson(4.0, size=(n, T)).astype(float)
    demand[3] = 0.0                                    # no demand: bin width 1, no orders
    demand[4] = np.where(rng.random(T) < 0.5, 0.1, 0.0)  # top and high day below one unit
    lead = np.array([0, 1, 3, 2, 1])
    params = {"n_states": 6, "n_actions": n_actions, "learning_rate": 0.3, "discount": 0.8, "epsilon_start": 0.9,
              "epsilon_end": 0.1, "state_span": 1.2, "order_span": 1.5, "holding_cost": 0.5, "shortage_cost": 4.0,
              "ordering_cost": 2.0, "backorders": backorders}
    episodes = [(rng.integers(0, T, n), rng.random((days, n)), rng.integers(0, n_actions, (days, n)), rng.random(n))
                for _ in range(n_episodes)]
    agent = inv.QLearningReplenisher(episodes=n_episodes, episode_days=days, progress=False, **params)
    calls = scripted_fit(monkeypatch, agent, demand, lead, episodes)
    # the sampling design: start days over all T days, actions over all n_actions, uniforms per day and series
    assert set(calls) == {("start", 0, T, n), ("explore", (days, n)), ("action", 0, n_actions, (days, n)),
                          ("u0", n)}
    assert len(calls) == 4 * n_episodes
    ref, widths, units = reference_q_table(demand, lead, episodes, **params)
    np.testing.assert_allclose(agent.bin_width_, widths, rtol=1e-12)
    np.testing.assert_allclose(agent.action_unit_, units, rtol=1e-12)
    assert agent.n_series_ == n
    np.testing.assert_array_equal(agent.lead_time_, lead)
    assert np.count_nonzero(ref) > ref.size / 2        # the trace reaches most of the table
    np.testing.assert_allclose(agent.q_table_, ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(agent.order_table(), np.argmax(ref, axis=2) * units[:, None])


# --------------------------------------------------------------------------- optimal policies


def test_greedy_policy_orders_up_to_the_optimal_base_stock_on_constant_demand():
    """Constant demand d = 2, lead time 1, lost sales, h = 1, p = 10.

    The optimal order-up-to level is S* = d (L + 1) = 4: every day the position d left after
    the day's sale is topped up by d, which arrives for the next day; nothing is held at day
    end and nothing is lost (the cost is the holding of the first day's leftover d). The
    grid is exact: bin width = 2 * d (L + 1) / 8 = 1 (states are whole positions) and the
    action unit = 2 * d / 4 = 1 (orders 0..4 units).
    """
    d, lead, h, p = 2.0, 1, 1.0, 10.0
    demand = np.full((1, 60), d)
    best_level = d * (lead + 1)
    base_stock = {S: float(inv.simulate_policy(demand, "base_stock", {"S": float(S)}, lead, holding_cost=h,
                                               shortage_cost=p, initial_on_hand=best_level)["total_cost"][0])
                  for S in range(13)}
    assert min(base_stock, key=base_stock.get) == best_level   # enumeration agrees with the closed form
    assert base_stock[best_level] == h * d                     # only the first day's leftover is held
    agent = inv.QLearningReplenisher(n_states=8, n_actions=5, episodes=200, episode_days=30, learning_rate=0.5,
                                     discount=0.9, epsilon_end=0.6, state_span=2.0, order_span=2.0,
                                     holding_cost=h, shortage_cost=p, random_state=0, progress=False).fit(demand, lead)
    np.testing.assert_allclose(agent.bin_width_, [1.0])
    np.testing.assert_allclose(agent.action_unit_, [1.0])
    table = agent.order_table()[0]
    assert table[int(d)] == d            # in the steady state (position d after the sale) it orders d
    assert table[int(best_level)] == 0   # at the optimal level it orders nothing
    assert np.all(table[:int(d)] >= d)   # below d today's sale empties the shelf: it orders tomorrow's d at least
    kpi = agent.simulate(demand, initial_on_hand=best_level)
    assert kpi["total_cost"][0] <= base_stock[best_level]
    assert kpi["fill_rate"][0] == 1.0


def test_cost_on_poisson_demand_is_within_a_margin_of_the_best_base_stock():
    """Poisson(5) demand, lead time 0, lost sales, h = 1, p = 9 (newsvendor level F^-1(0.9) = 8).

    The benchmark is the best base-stock level enumerated with the same simulator on the test
    path (hindsight: the best any base-stock level could have done). Tabular Q-learning on
    300 episodes of 60 days does not reach it; across seeds its total cost was 1.23 to 1.47
    times the benchmark, so the margin is 60% -- while a policy that never orders costs ~8
    times the benchmark and one that ordered at random several times.
    """
    rng = np.random.default_rng(7)
    n, lead, h, p, lam = 6, 0, 1.0, 9.0, 5.0
    train = rng.poisson(lam, size=(n, 400)).astype(float)
    test = rng.poisson(lam, size=(n, 300)).astype(float)
    levels = np.arange(0, 21)
    costs = np.array([inv.simulate_policy(test, "base_stock", {"S": float(S)}, lead, holding_cost=h,
                                          shortage_cost=p, initial_on_hand=0.0)["total_cost"] for S in levels])
    assert np.all(levels[costs.argmin(axis=0)] == poisson.ppf(p / (p + h), lam))  # the benchmark is the newsvendor
    best = costs.min(axis=0).sum()
    agent = inv.QLearningReplenisher(n_states=12, n_actions=11, episodes=300, episode_days=60, learning_rate=0.1,
                                     state_span=1.0, order_span=1.0, holding_cost=h, shortage_cost=p,
                                     random_state=0, progress=False).fit(train, lead)
    learned = agent.simulate(test, initial_on_hand=0.0)["total_cost"].sum()
    assert learned <= 1.6 * best


# --------------------------------------------------------------------------- parameters and shapes


def test_defaults_are_the_documented_ones():
    assert inv.QLearningReplenisher().get_params() == {
        "n_states": 24, "n_actions": 10, "episodes": 200, "episode_days": 120, "learning_rate": 0.2,
        "discount": 0.9, "epsilon_start": 1.0, "epsilon_end": 0.02, "state_span": 1.5, "order_span": 2.0,
        "holding_cost": 1.0, "shortage_cost": 10.0, "ordering_cost": 0.0, "backorders": False, "random_state": 0,
        "progress": True,
    }


def test_boundary_parameters_are_accepted():
    """The smallest tables and the closed ends of every range train (and two days of demand suffice)."""
    demand = np.array([[1.0, 0.0]])
    for params in ({"n_states": 2, "n_actions": 2, "episodes": 1, "episode_days": 1, "learning_rate": 1.0,
                    "discount": 1.0, "epsilon_start": 0.0, "epsilon_end": 1.0, "random_state": 0},
                   {"discount": 0.0, "epsilon_start": 1.0, "epsilon_end": 0.0, "holding_cost": 0.0,
                    "shortage_cost": 0.0, "ordering_cost": 0.0, "episodes": 2, "episode_days": 3}):
        agent = inv.QLearningReplenisher(progress=False, **params).fit(demand, 0)
        assert agent.q_table_.shape == (1, agent.n_states, agent.n_actions)
        assert np.all(np.isfinite(agent.q_table_))


BAD_VALUES = {"n_states": [1, 2.5], "n_actions": [1, np.nan], "episodes": [0, 1.5], "episode_days": [0, "3"],
              "learning_rate": [0.0, 1.01, np.nan], "discount": [-0.01, 1.01], "epsilon_start": [-0.01, 1.01],
              "epsilon_end": [-0.5, 1.5], "state_span": [0.0, np.inf], "order_span": [0.0, -1.0],
              "holding_cost": [-1.0, np.nan], "shortage_cost": [-1.0, "x"], "ordering_cost": [-0.01, np.nan],
              "random_state": [-1, 1.5]}


@pytest.mark.parametrize("param,bad", [(p, v) for p, values in BAD_VALUES.items() for v in values])
def test_every_bad_hyper_parameter_is_named(param, bad):
    """Each one, below and above its range (the contract test draws only some of them)."""
    agent = inv.QLearningReplenisher(progress=False, **{"episodes": 1, "episode_days": 2, param: bad})
    with pytest.raises(DataValidationError, match=f"^parameter '{param}'"):
        agent.fit(np.ones((1, 5)), 0)


def test_bad_demand_is_named():
    agent = inv.QLearningReplenisher(episodes=1, episode_days=2, progress=False)
    with pytest.raises(DataValidationError, match=r"^parameter 'demand': .*at least 2 days.*\(2, 1\)"):
        agent.fit(np.ones((2, 1)), 0)
    with pytest.raises(DataValidationError, match="^parameter 'demand': .*2-D"):
        agent.fit(np.ones(5), 0)
    with pytest.raises(DataValidationError, match="^parameter 'demand': expected a number"):
        agent.fit(np.array([["a", "b"]]), 0)
    with pytest.raises(DataValidationError, match="^parameter 'demand': NaN or infinite"):
        agent.fit(np.array([[1.0, np.inf]]), 0)
    with pytest.raises(DataValidationError, match="^parameter 'demand': values must be >= 0"):
        agent.fit(np.array([[1.0, -2.0]]), 0)
    for lead in (-1, 1.5, np.nan, [1, 2, 3]):
        with pytest.raises(DataValidationError, match="^parameter 'lead_time'"):
            agent.fit(np.ones((2, 5)), lead)
    fitted = agent.fit(np.ones((2, 5)), 1)  # one lead time for every series
    assert fitted.lead_time_.shape == (2,) and fitted.lead_time_.tolist() == [1, 1]


def test_progress_bar_is_shown_only_when_asked(capsys):
    demand = np.ones((1, 5))
    inv.QLearningReplenisher(episodes=2, episode_days=2, progress=False).fit(demand, 0)
    assert "Q-learning" not in capsys.readouterr().err
    inv.QLearningReplenisher(episodes=2, episode_days=2, progress=True).fit(demand, 0)
    assert re.search(r"(^|\r)Q-learning: +\d+%", capsys.readouterr().err)  # the bar, labelled


def test_simulate_returns_the_kpis_and_names_bad_demand():
    agent = inv.QLearningReplenisher(episodes=2, episode_days=3, progress=False).fit(np.ones((2, 5)), 1)
    kpi = agent.simulate(np.ones((2, 4)), initial_on_hand=1.0)
    assert set(kpi) == set(inv.KPIS)  # no daily paths unless asked for
    paths = agent.simulate(np.ones((2, 4)), initial_on_hand=1.0, return_paths=True)
    assert paths["order_path"].shape == (2, 4)
    for bad, message in [(np.ones((3, 5)), r"expected a 2-D array of 2 series \(rows\), as in training, got shape"),
                         (np.ones(5), r"expected a 2-D array of 2 series"),
                         (np.array([["a", "b"], ["c", "d"]]), "expected a number")]:
        with pytest.raises(DataValidationError, match=f"^parameter 'demand': {message}"):
            agent.simulate(bad, initial_on_hand=1.0)


def test_simulate_is_the_table_policy_with_the_agent_costs_and_backorders():
    demand = np.random.default_rng(5).poisson(3.0, size=(2, 40)).astype(float)
    agent = inv.QLearningReplenisher(episodes=5, episode_days=20, holding_cost=0.5, shortage_cost=3.0,
                                     ordering_cost=2.0, backorders=True, progress=False).fit(demand, [1, 2])
    got = agent.simulate(demand, initial_on_hand=2.0)
    ref = inv.simulate_policy(demand, "table", {"table": agent.order_table(), "bin_width": agent.bin_width_}, [1, 2],
                              holding_cost=0.5, shortage_cost=3.0, ordering_cost=2.0, backorders=True,
                              initial_on_hand=2.0)
    for kpi in inv.KPIS:
        np.testing.assert_allclose(got[kpi], ref[kpi], err_msg=kpi)
    lost = inv.simulate_policy(demand, "table", {"table": agent.order_table(), "bin_width": agent.bin_width_},
                               [1, 2], holding_cost=0.5, shortage_cost=3.0, ordering_cost=2.0, initial_on_hand=2.0)
    assert not np.allclose(got["shortage_cost"], lost["shortage_cost"])  # backorders make a difference here


def test_progress_bar_is_cleared_when_training_ends(capsys):
    """The bar is transient (tqdm ``leave=False``): once training ends its line is blanked and
    no newline is left behind, so a fit inside a loop or a notebook cell leaves no stale bars.
    A bar that stays (``leave=True``, or tqdm's default) ends on its 100% line and a newline."""
    inv.QLearningReplenisher(episodes=3, episode_days=2, progress=True).fit(np.ones((1, 5)), 0)
    err = capsys.readouterr().err
    assert "Q-learning" in err                  # the bar was shown ...
    assert "\n" not in err and err.endswith("\r")
    assert err.split("\r")[-2].strip() == ""    # ... and its last frame is the blank one that erases it


class _InterruptedStock(kernel.StockState):
    """The kernel's stock state, interrupted (as by Ctrl-C) on the third simulated day of training."""

    days_served = 0

    def serve(self, demand):
        type(self).days_served += 1
        if type(self).days_served == 3:
            raise KeyboardInterrupt
        return super().serve(demand)


def _interrupt_training(monkeypatch):
    _InterruptedStock.days_served = 0
    monkeypatch.setattr(qlearning, "StockState", _InterruptedStock)


def test_an_interrupted_first_fit_leaves_the_agent_unfitted(monkeypatch):
    agent = inv.QLearningReplenisher(episodes=2, episode_days=4, progress=False)
    _interrupt_training(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        agent.fit(np.ones((2, 5)), 1)
    for call in (agent.order_table, lambda: agent.simulate(np.ones((2, 5)), initial_on_hand=1.0)):
        with pytest.raises(NotFittedError):
            call()
    assert not [name for name in vars(agent) if name.endswith("_")]  # no half-fitted attributes either


def test_an_interrupted_refit_keeps_the_previous_model_whole(monkeypatch):
    """Refitting on other demand and stopping mid-way must not pair the old Q-table with the new
    bins and order unit (which would silently order the wrong quantities)."""
    demand = np.random.default_rng(3).poisson(5.0, size=(2, 40)).astype(float)
    agent = inv.QLearningReplenisher(episodes=3, episode_days=10, progress=False).fit(demand, 1)
    before = {name: np.array(getattr(agent, name), copy=True)
              for name in ("q_table_", "bin_width_", "action_unit_", "lead_time_", "n_series_")}
    table = agent.order_table()
    kpi = agent.simulate(demand, initial_on_hand=5.0)
    _interrupt_training(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        agent.fit(10.0 * demand, 3)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(agent, name), value, err_msg=name)
    np.testing.assert_array_equal(agent.order_table(), table)
    again = agent.simulate(demand, initial_on_hand=5.0)
    for name in inv.KPIS:
        np.testing.assert_array_equal(again[name], kpi[name], err_msg=name)
