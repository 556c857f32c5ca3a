"""A tabular Q-learning replenishment agent, one Q-table per series, all trained at once.

Design choices (where the issue is silent)
------------------------------------------
The state is the inventory position binned into ``n_states`` bins, the action an order of
``0 .. n_actions-1`` units of a per-series step, the reward minus the day's cost. Training
runs episodes on demand resampled from the training history (random contiguous windows, so
weekly patterns survive) with an epsilon-greedy schedule; random numbers are drawn on the host
with a seeded NumPy generator, so a run is reproducible on either backend. The agent steps
the same :class:`~toolkit.decisions.inventory.kernel.StockState` as the policy simulation.

Inputs are ``(n, T)`` arrays; demand must be finite and >= 0 (NaN or infinity is refused
naming ``demand`` and the series), since one NaN reward would spread through the table.

Examples
--------
>>> import numpy as np
>>> from toolkit.decisions.inventory import QLearningReplenisher
>>> demand = np.random.default_rng(0).poisson(5.0, size=(2, 200)).astype(float)
>>> agent = QLearningReplenisher(episodes=20, episode_days=60, shortage_cost=5.0, progress=False)
>>> agent.fit(demand, lead_time=2).q_table_.shape
(2, 24, 10)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from toolkit import panel
from toolkit.errors import DataValidationError
from toolkit.decisions.inventory.inputs import SeriesInputs, namespace_of
from toolkit.decisions.inventory.kernel import StockState
from toolkit.decisions.inventory.simulation import simulate_policy

__all__ = ["QLearningReplenisher"]


class QLearningReplenisher(BaseEstimator):
    """Tabular Q-learning replenishment agent, one Q-table per series, trained all at once.

    State: inventory position (on hand + on order - backorders) in ``n_states`` bins of a
    per-series width that spans ``state_span`` times a high protection-period demand
    (``mean * (L+1) + 3 * std * sqrt(L+1)`` of daily training demand). Action: order ``a``
    steps of ``max_order / (n_actions - 1)`` units, ``max_order`` being ``order_span`` times
    a high daily demand (``mean + 3 std``). Reward: minus the day's holding, shortage and
    ordering cost. Episodes run on random contiguous windows of the training demand
    (wrapping around; the first day uniform over the history), starting from an inventory
    position uniform over the span of the state bins; epsilon decays linearly from
    ``epsilon_start`` (first episode) to ``epsilon_end`` (last episode), and an exploring step
    takes an action uniform over all ``n_actions``.

    Parameters
    ----------
    n_states, n_actions : int, default 24 and 10
        Table size (>= 2 each).
    episodes, episode_days : int, default 200 and 120
        Training length (>= 1 each).
    learning_rate : float in (0, 1], default 0.2
    discount : float in [0, 1], default 0.9
        Q-learning step size and daily discount factor.
    epsilon_start, epsilon_end : float in [0, 1], default 1.0 and 0.02
        Exploration schedule.
    state_span, order_span : float > 0, default 1.5 and 2.0
        Reach of the state bins and of the largest order (see above).
    holding_cost, shortage_cost, ordering_cost : float >= 0, default 1.0, 10.0 and 0.0
        As in :func:`~toolkit.decisions.inventory.simulate_policy`.
    backorders : bool, default False
        As in :func:`~toolkit.decisions.inventory.simulate_policy`.
    random_state : int >= 0, default 0
        Seed of the host random generator (``numpy.random.default_rng``).
    progress : bool, default True
        Show a progress bar over training episodes.

    Attributes
    ----------
    q_table_ : array, shape (n, n_states, n_actions)
    bin_width_, action_unit_, lead_time_ : arrays, shape (n,)
    n_series_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.decisions.inventory import QLearningReplenisher
    >>> demand = np.random.default_rng(0).poisson(5.0, size=(2, 200)).astype(float)
    >>> agent = QLearningReplenisher(episodes=20, episode_days=60, shortage_cost=5.0, progress=False)
    >>> agent.fit(demand, lead_time=2).order_table().shape
    (2, 24)
    """

    def __init__(
        self,
        n_states: int = 24,
        n_actions: int = 10,
        episodes: int = 200,
        episode_days: int = 120,
        learning_rate: float = 0.2,
        discount: float = 0.9,
        epsilon_start: float = 1.0,
        epsilon_end: float = 0.02,
        state_span: float = 1.5,
        order_span: float = 2.0,
        holding_cost: float = 1.0,
        shortage_cost: float = 10.0,
        ordering_cost: float = 0.0,
        backorders: bool = False,
        random_state: int = 0,
        progress: bool = True,
    ):
        self.n_states = n_states
        self.n_actions = n_actions
        self.episodes = episodes
        self.episode_days = episode_days
        self.learning_rate = learning_rate
        self.discount = discount
        self.epsilon_start = epsilon_start
        self.epsilon_end = epsilon_end
        self.state_span = state_span
        self.order_span = order_span
        self.holding_cost = holding_cost
        self.shortage_cost = shortage_cost
        self.ordering_cost = ordering_cost
        self.backorders = backorders
        self.random_state = random_state
        self.progress = progress

    def _check_params(self) -> None:
        for name in ("n_states", "n_actions"):
            panel.check_int(name, getattr(self, name), minimum=2)
        for name in ("episodes", "episode_days"):
            panel.check_int(name, getattr(self, name), minimum=1)
        panel.check_number("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        for name in ("discount", "epsilon_start", "epsilon_end"):
            panel.check_number(name, getattr(self, name), 0.0, 1.0)
        for name in ("state_span", "order_span"):
            panel.check_number(name, getattr(self, name), 0.0, low_open=True)
        for name in ("holding_cost", "shortage_cost", "ordering_cost"):
            panel.check_number(name, getattr(self, name), 0.0)
        panel.check_int("random_state", self.random_state, minimum=0)

    def _state(self, xp: Any, position: Any, width: Any) -> Any:
        return xp.astype(xp.clip(xp.floor(position / width), 0, self.n_states - 1), xp.int64)

    def fit(self, demand: Any, lead_time: Any) -> "QLearningReplenisher":
        """Train on ``(n, T)`` daily demand history with per-series ``lead_time`` (whole days >= 0).

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            A bad hyper-parameter (named), non-array demand, fewer than 2 days, NaN, infinite
            or negative demand, bad lead times.
        """
        self._check_params()
        xp = namespace_of(demand, lead_time)
        checks = SeriesInputs(xp)
        d = checks.floats("demand", demand)
        if d.ndim != 2 or d.shape[1] < 2:
            raise DataValidationError.for_parameter("demand", "expected a 2-D (series, days) array with at least 2 "
                                                              f"days, got shape {tuple(d.shape)}")
        checks.check("demand", d, low=0.0)
        n, T = d.shape
        lead = checks.whole_days("lead_time", checks.floats("lead_time", lead_time, n), 0)
        mu, sd = xp.mean(d, axis=1), xp.std(d, axis=1)
        period = xp.astype(lead + 1, xp.float64)
        top = mu * period + 3.0 * sd * xp.sqrt(period)
        high_day = mu + 3.0 * sd
        width = xp.where(top > 0, self.state_span * top / self.n_states, 1.0)
        unit = xp.where(high_day > 0, self.order_span * high_day / (self.n_actions - 1), 0.0)
        q = self._train(xp, d, lead, width, unit)
        # set together once training is done: an interrupted (re)fit leaves the agent as it was
        self.bin_width_, self.action_unit_, self.lead_time_, self.n_series_ = width, unit, lead, n
        self.q_table_ = q
        return self

    def _train(self, xp: Any, d: Any, lead: Any, width: Any, unit: Any) -> Any:
        n, T = d.shape
        q = xp.zeros((n, self.n_states, self.n_actions), dtype=xp.float64)
        rng = np.random.default_rng(self.random_state)
        rows = xp.arange(n, dtype=xp.int64)
        days = self.episode_days
        episodes = range(self.episodes)
        if self.progress:
            from tqdm.auto import tqdm

            episodes = tqdm(episodes, desc="Q-learning", leave=False)
        for episode in episodes:
            frac = episode / max(self.episodes - 1, 1)
            epsilon = self.epsilon_start + frac * (self.epsilon_end - self.epsilon_start)
            start = xp.asarray(rng.integers(0, T, size=n))
            idx = (start[:, None] + xp.arange(days, dtype=xp.int64)[None, :]) % T
            path = xp.permute_dims(xp.take_along_axis(d, idx, axis=1), (1, 0))
            explore = xp.asarray(rng.random((days, n)) < epsilon)
            random_action = xp.asarray(rng.integers(0, self.n_actions, size=(days, n)))
            on_hand = xp.asarray(rng.random(n)) * width * self.n_states
            stock = StockState(xp, lead, on_hand, self.backorders, self.holding_cost, self.shortage_cost,
                               self.ordering_cost)
            state = self._state(xp, stock.position(), width)
            for t in range(days):
                stock.receive(t)
                greedy = xp.argmax(q[rows, state], axis=1)
                action = xp.where(explore[t], random_action[t], greedy)
                quantity = xp.astype(action, xp.float64) * unit
                stock.place(t, quantity, quantity > 0)
                _, _, holding, shortage = stock.serve(path[t])
                reward = -(holding + shortage + self.ordering_cost * xp.astype(quantity > 0, xp.float64))
                nxt = self._state(xp, stock.position(), width)
                target = reward + self.discount * xp.max(q[rows, nxt], axis=1)
                q[rows, state, action] += self.learning_rate * (target - q[rows, state, action])
                state = nxt
        return q

    def order_table(self) -> Any:
        """Greedy order quantity per series and state, shape ``(n, n_states)``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, "q_table_")
        xp = namespace_of(self.q_table_)
        return xp.astype(xp.argmax(self.q_table_, axis=2), xp.float64) * self.action_unit_[:, None]

    def simulate(self, demand: Any, *, initial_on_hand: Any, return_paths: bool = False) -> dict[str, Any]:
        """Run the greedy policy on ``demand`` (``(n, T)``, the fitted series in the same order).

        Uses :func:`~toolkit.decisions.inventory.simulate_policy` (policy ``"table"``).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        DataValidationError
            ``demand`` holds another number of series than the agent was trained on, or bad values.
        """
        table = self.order_table()
        d = SeriesInputs(namespace_of(demand, self.q_table_)).floats("demand", demand)
        if d.ndim != 2 or d.shape[0] != self.n_series_:
            raise DataValidationError.for_parameter("demand", f"expected a 2-D array of {self.n_series_} series (rows)"
                                                              f", as in training, got shape {tuple(d.shape)}")
        return simulate_policy(
            d, "table", {"table": table, "bin_width": self.bin_width_}, self.lead_time_,
            holding_cost=self.holding_cost, shortage_cost=self.shortage_cost, ordering_cost=self.ordering_cost,
            backorders=self.backorders, initial_on_hand=initial_on_hand, return_paths=return_paths,
        )
