"""The input contract of toolkit.decisions.inventory, property-based (issue 12, items 6 and 7).

Every public function gets generated bad input -- things that are not numbers or frames, a
defect injected into a valid panel, a parameter outside its range, an unknown name -- and must
answer with a DataValidationError (NotFittedError before fit) naming the column or parameter,
or with its documented handling; never an internal error, never a row lost uncounted. The
references are independent: pandas groupby sums, closed forms, hand-built expectations.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from tests.contract import assert_rejects, corrupt, not_frames
from toolkit.decisions import inventory as inv
from toolkit.errors import DataValidationError

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = ["sku", "warehouse"]


def not_numbers() -> st.SearchStrategy:
    """What users pass where a number or an array is expected and that is neither."""
    return st.one_of(st.none(), st.text(min_size=1, max_size=4), st.binary(max_size=3),
                     st.dictionaries(st.sampled_from(["a", "b"]), st.floats(), max_size=2),
                     st.lists(st.text(min_size=1, max_size=2), min_size=1, max_size=3),
                     st.builds(lambda n: pd.DataFrame({"x": np.arange(n)}), st.integers(1, 3)))


def outcome(call, names=()):
    """The result of ``call()``, or its DataValidationError/NotFittedError naming one of ``names``."""
    try:
        return call()
    except (DataValidationError, NotFittedError) as err:
        if names:
            assert any(f"'{n}'" in str(err) for n in names), f"error names none of {names}: {err}"
        return err
    except (AttributeError, KeyError, IndexError, TypeError, ZeroDivisionError) as err:  # pragma: no cover
        raise AssertionError(f"internal {type(err).__name__} leaked: {err}") from err


@st.composite
def complete_panels(draw, value_col="units", days=(4, 12), series=(1, 4)):
    """A long panel keyed by (sku, warehouse), every series on the same days, values >= 0."""
    n = draw(st.integers(*series))
    width = draw(st.integers(*days))
    dates = pd.date_range("2024-03-01", periods=width, freq="D")
    values = draw(st.lists(st.integers(0, 30), min_size=n * width, max_size=n * width))
    frame = pd.DataFrame({"sku": np.repeat([f"S{i}" for i in range(n)], width),
                          "warehouse": np.repeat(["WH1" if i % 2 else "WH2" for i in range(n)], width),
                          "date": np.tile(dates, n), value_col: np.asarray(values, dtype="float64")})
    order = draw(st.permutations(range(len(frame))))
    return frame.iloc[list(order)].reset_index(drop=True)


# --------------------------------------------------------------------------- closed forms


ROWWISE = {
    "eoq": (lambda **kw: inv.eoq(**kw), {"demand": 1300.0, "ordering_cost": 8.0, "holding_cost": 0.2}),
    "safety_stock": (lambda **kw: inv.safety_stock(**kw, target="cycle_service_level"),
                     {"sigma": 10.0, "service_level": 0.9}),
    "reorder_point": (lambda **kw: inv.reorder_point(**kw, target="fill_rate"),
                      {"mean": 100.0, "sigma": 10.0, "service_level": 0.9, "order_quantity": 50.0}),
    "standard_normal_loss": (lambda **kw: inv.standard_normal_loss(**kw), {"z": 0.3}),
}


@SETTINGS
@given(name=st.sampled_from(sorted(ROWWISE)), data=st.data(), bad=not_numbers())
def test_rowwise_formulas_refuse_what_is_not_a_number(name, data, bad):
    call, args = ROWWISE[name]
    param = data.draw(st.sampled_from(sorted(args)))
    assert_rejects(lambda: call(**{**args, param: bad}), [param])


@SETTINGS
@given(name=st.sampled_from(sorted(ROWWISE)), data=st.data(),
       bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_rowwise_formulas_refuse_non_finite_values_by_name(name, data, bad):
    call, args = ROWWISE[name]
    param = data.draw(st.sampled_from(sorted(args)))
    assert_rejects(lambda: call(**{**args, param: np.array([1.0, bad])}), [param])


@SETTINGS
@given(level=st.one_of(st.floats(max_value=0.0, allow_nan=False), st.floats(min_value=1.0, allow_nan=False)),
       cost=st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False))
def test_service_levels_and_costs_out_of_range_are_named(level, cost):
    assert_rejects(lambda: inv.safety_stock(5.0, level, target="cycle_service_level"), ["service_level"])
    assert_rejects(lambda: inv.reorder_point(50.0, 5.0, level, target="cycle_service_level"), ["service_level"])
    assert_rejects(lambda: inv.eoq(100.0, cost, 1.0), ["ordering_cost"])
    assert_rejects(lambda: inv.eoq(100.0, 5.0, cost), ["holding_cost"])
    assert_rejects(lambda: inv.newsvendor_quantity([1.0, 2.0], [0.2, 0.8], cost, 1.0), ["underage_cost"])


def test_unknown_target_lists_the_choices():
    err = assert_rejects(lambda: inv.safety_stock(5.0, 0.9, target="type1"), ["target"])
    assert "cycle_service_level" in str(err) and "fill_rate" in str(err)


@st.composite
def plan_frames(draw):
    n = draw(st.integers(1, 6))
    floats = st.floats(0.5, 50, allow_nan=False)
    return pd.DataFrame({"sku": [f"S{i}" for i in range(n)], "warehouse": "WH1",
                         "ltd_mean": draw(st.lists(floats, min_size=n, max_size=n)),
                         "ltd_std": draw(st.lists(floats, min_size=n, max_size=n)),
                         "Q": draw(st.lists(floats, min_size=n, max_size=n))})


@SETTINGS
@given(frame=plan_frames(), kind=st.sampled_from(["drop_column", "inf", "nan", "text", "empty", "missing_key"]),
       column=st.sampled_from(["ltd_mean", "ltd_std", "Q"]), row=st.integers(0, 5))
def test_rowwise_frames_name_the_bad_column_and_keep_every_row(frame, kind, column, row):
    bad = corrupt(frame, kind, column, row)

    def call():
        return inv.reorder_point("ltd_mean", "ltd_std", 0.9, target="fill_rate", order_quantity="Q", data=bad)

    if kind == "missing_key":  # keys only name rows in messages: the formula still applies to every row
        out = call()
        assert len(out) == len(bad) and out.index.equals(bad.index)
        return
    err = assert_rejects(call, [column] if kind != "empty" else [])
    if kind in ("inf", "nan"):
        sku = frame["sku"].iloc[row % len(frame)]
        assert sku in str(err), err  # the offending row is shown by its keys


@SETTINGS
@given(frame=plan_frames())
def test_rowwise_frames_equal_the_closed_form_row_by_row(frame):
    from scipy.stats import norm

    out = inv.reorder_point("ltd_mean", "ltd_std", 0.9, target="cycle_service_level", data=frame)
    np.testing.assert_allclose(out["reorder_point_csl"], frame["ltd_mean"] + norm.ppf(0.9) * frame["ltd_std"])
    lazy = inv.reorder_point("ltd_mean", "ltd_std", 0.9, target="cycle_service_level",
                             data=dd.from_pandas(frame, npartitions=2)).compute()
    np.testing.assert_allclose(lazy["reorder_point_csl"], out["reorder_point_csl"])


@SETTINGS
@given(levels=st.one_of(st.just([0.5]), st.just([0.5, 0.2]), st.just([0.0, 0.5]), st.just([0.2, 1.0]),
                        st.just("abc"), st.none(), st.just([0.1, np.nan])))
def test_newsvendor_bad_levels_are_named(levels):
    assert_rejects(lambda: inv.newsvendor_quantity(np.array([1.0, 2.0]), levels, 1.0, 1.0), ["levels"])


@SETTINGS
@given(bad=not_numbers())
def test_newsvendor_refuses_non_numbers(bad):
    assert_rejects(lambda: inv.newsvendor_quantity(bad, [0.2, 0.8], 1.0, 1.0), ["quantiles"])


# --------------------------------------------------------------------------- lead-time demand


@SETTINGS
@given(bad=not_numbers(), param=st.sampled_from(["forecast", "errors", "lead_time", "review_period"]))
def test_lead_time_demand_refuses_non_numbers(bad, param):
    args = {"forecast": np.ones(2), "errors": np.zeros((2, 20)), "lead_time": 2, "review_period": 1}
    if isinstance(bad, pd.DataFrame) and param in ("forecast", "errors"):
        return  # a frame is a valid panel input there (tested below)
    assert_rejects(lambda: inv.lead_time_demand(**{**args, param: bad}), [param])


@SETTINGS
@given(lead=st.one_of(st.integers(max_value=-1), st.floats(0.1, 0.9), st.just(np.nan)),
       method=st.text(min_size=1, max_size=6).filter(lambda m: m.lower() not in ("empirical", "normal")),
       coverage=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0001), st.just(np.nan)))
def test_lead_time_demand_bad_parameters_are_named(lead, method, coverage):
    errors = np.random.default_rng(0).normal(size=(2, 30))
    assert_rejects(lambda: inv.lead_time_demand(np.ones(2), errors, lead), ["lead_time"])
    err = assert_rejects(lambda: inv.lead_time_demand(np.ones(2), errors, 2, method=method), ["method"])
    assert "empirical" in str(err)
    assert_rejects(lambda: inv.lead_time_demand(np.ones(2), errors, 2, min_coverage=coverage), ["min_coverage"])


@SETTINGS
@given(errors=complete_panels("error", days=(12, 20)), kind=st.sampled_from(["inf", "nan"]), row=st.integers(0, 99))
def test_lead_time_demand_nan_error_is_a_missing_day_inf_is_refused(errors, kind, row):
    rng = np.random.default_rng(1)
    errors = errors.assign(error=rng.normal(0, 2, len(errors)))
    keys = errors[KEYS].drop_duplicates()
    forecast = keys.merge(pd.DataFrame({"date": pd.date_range("2024-06-01", periods=5)}), how="cross")
    forecast["forecast"] = 4.0
    bad = corrupt(errors, kind, "error", row)
    if kind == "inf":
        assert_rejects(lambda: inv.lead_time_demand(forecast, bad, 2), ["error"])
        return
    # NaN: that day has no error; the windows over it are scaled from the days seen (min_coverage)
    got = outcome(lambda: inv.lead_time_demand(forecast, bad, 2, 0, min_coverage=1.0), ["error"])
    if isinstance(got, Exception):
        return  # a short series left with fewer than 2 complete windows: refused, naming 'error'
    wide = bad.pivot(index=KEYS, columns="date", values="error").sort_index()
    for i, (_, row_values) in enumerate(wide.iterrows()):
        x = row_values.to_numpy()
        sums = np.array([x[t:t + 2].sum() for t in range(len(x) - 1)])
        sums = sums[np.isfinite(sums)]
        assert got["ltd_std"].iloc[i] == pytest.approx(sums.std(ddof=1))


@SETTINGS
@given(forecast=complete_panels("forecast", days=(3, 6)), kind=st.sampled_from(["drop_column", "text",
                                                                                 "duplicate_row", "missing_key",
                                                                                 "empty"]),
       row=st.integers(0, 99))
def test_lead_time_demand_frames_name_the_defect(forecast, kind, row):
    keys = forecast[KEYS].drop_duplicates()
    errors = keys.merge(pd.DataFrame({"date": pd.date_range("2024-01-01", periods=30)}), how="cross")
    errors["error"] = np.random.default_rng(2).normal(size=len(errors))
    bad = corrupt(forecast, kind, "forecast", row)
    expected = {"drop_column": ["forecast"], "text": ["forecast"], "duplicate_row": ["date"],
                "missing_key": ["sku"], "empty": []}[kind]
    assert_rejects(lambda: inv.lead_time_demand(bad, errors, 1, 1), expected)


def test_lead_time_demand_mixing_dask_and_memory_is_named():
    keys = [("S1", "WH1")]
    fc = pd.DataFrame({"sku": "S1", "warehouse": "WH1", "date": pd.date_range("2024-01-01", periods=3),
                       "forecast": 1.0})
    err = pd.DataFrame({"sku": "S1", "warehouse": "WH1", "date": pd.date_range("2023-01-01", periods=20),
                        "error": np.linspace(-1, 1, 20)})
    assert keys
    assert_rejects(lambda: inv.lead_time_demand(dd.from_pandas(fc, npartitions=1), err, 1), ["errors"])


# --------------------------------------------------------------------------- simulation


@SETTINGS
@given(policy=st.text(min_size=1, max_size=8).filter(lambda p: p not in inv.POLICIES))
def test_unknown_policy_lists_the_choices(policy):
    err = assert_rejects(lambda: inv.simulate_policy(np.ones((1, 3)), policy, {"S": 1.0}, 1), ["policy"])
    assert all(p in str(err) for p in inv.POLICIES)


@SETTINGS
@given(param=st.sampled_from(["lead_time", "review_period", "holding_cost", "shortage_cost", "ordering_cost",
                              "initial_on_hand"]),
       bad=st.sampled_from([-1.0, np.nan, np.inf, 0.5, "x", None]))
def test_simulation_parameters_are_named(param, bad):
    args = {"lead_time": 1, "review_period": 2, "holding_cost": 1.0, "shortage_cost": 2.0, "ordering_cost": 0.0,
            "initial_on_hand": 3.0}
    if param in ("holding_cost", "shortage_cost", "ordering_cost", "initial_on_hand") and bad == 0.5:
        return  # fractions are valid costs and stocks
    if param == "initial_on_hand" and bad is None:
        return  # None means "start at S"
    lead = args.pop("lead_time")
    call_args = {**args, "lead_time": lead, param: bad}
    assert_rejects(lambda: inv.simulate_policy(np.ones((2, 5)), "RS", {"S": 4.0}, **call_args), [param])


@SETTINGS
@given(panel=complete_panels(), kind=st.sampled_from(["inf", "nan", "text", "drop_column", "duplicate_row",
                                                       "missing_key", "empty"]), row=st.integers(0, 99))
def test_simulate_policy_frames_name_the_defect(panel, kind, row):
    bad = corrupt(panel, kind, "units", row)
    expected = {"inf": ["units"], "nan": ["units"], "text": ["units"], "drop_column": ["units"],
                "duplicate_row": ["date"], "missing_key": ["sku"], "empty": []}[kind]
    err = assert_rejects(lambda: inv.simulate_policy(bad, "base_stock", {"S": 10.0}, 1), expected)
    if kind in ("inf", "nan"):
        assert panel["sku"].iloc[row % len(panel)] in str(err)


@SETTINGS
@given(panel=complete_panels())
def test_simulate_policy_frame_accounts_for_every_row(panel):
    kpis, paths = inv.simulate_policy(panel, "sS", {"s": 5.0, "S": 20.0}, 2, return_paths=True)
    reference = panel.groupby(KEYS)["units"].sum()  # independent: pandas groupby of the input rows
    got = kpis.set_index(KEYS)["demand"]
    np.testing.assert_allclose(got.loc[reference.index].to_numpy(), reference.to_numpy())
    assert len(paths) == len(panel)  # rows in = rows out
    np.testing.assert_allclose((paths["served"] + paths["unmet"]).sum(), panel["units"].sum())


@SETTINGS
@given(params=st.one_of(not_numbers().filter(lambda v: not isinstance(v, pd.DataFrame)), st.just([1.0, 2.0])))
def test_simulate_policy_params_must_be_a_mapping_or_frame(params):
    if isinstance(params, dict):
        err = assert_rejects(lambda: inv.simulate_policy(np.ones((1, 3)), "sS", params, 1))
        assert "'s'" in str(err) or "'S'" in str(err) or "params" in str(err)
        return
    assert_rejects(lambda: inv.simulate_policy(np.ones((1, 3)), "sS", params, 1), ["params"])


# --------------------------------------------------------------------------- agent and comparisons


BAD_AGENT = {"n_states": [1, 0, 2.5, "x"], "n_actions": [1, -1, np.nan], "episodes": [0, -3, 1.5],
             "episode_days": [0, 2.5], "learning_rate": [0.0, 1.5, np.nan], "discount": [-0.1, 1.5],
             "epsilon_start": [-1, 2], "state_span": [0, -1, np.inf], "holding_cost": [-1, np.nan, "x"]}


@SETTINGS
@given(case=st.sampled_from([(p, v) for p, values in BAD_AGENT.items() for v in values]))
def test_q_learning_bad_hyper_parameters_are_named(case):
    param, bad = case
    agent = inv.QLearningReplenisher(**{"episodes": 2, "episode_days": 5, "progress": False, param: bad})
    assert_rejects(lambda: agent.fit(np.ones((2, 10)), 1), [param])


def test_q_learning_before_fit_is_not_fitted():
    agent = inv.QLearningReplenisher(progress=False)
    with pytest.raises(NotFittedError):
        agent.order_table()
    with pytest.raises(NotFittedError):
        agent.simulate(np.ones((1, 5)), initial_on_hand=1.0)
    fitted = inv.QLearningReplenisher(episodes=2, episode_days=5, progress=False).fit(np.ones((2, 10)), 1)
    assert_rejects(lambda: fitted.simulate(np.ones((3, 5)), initial_on_hand=1.0), ["demand"])


@SETTINGS
@given(bad=not_frames().filter(lambda v: not isinstance(v, (list, np.ndarray, pd.Series)) or np.size(v) == 0))
def test_compare_policies_refuses_what_is_not_demand(bad):
    assert_rejects(lambda: inv.compare_policies(bad, np.ones((2, 5)), 1, q_learning={"episodes": 1},
                                                progress=False), ["train", "test"])


BAD_COMPARE = {"review_period": [0, -1, 2.5, "x"], "service_level": [0.0, 1.0, np.nan, -0.5],
               "holding_cost": [0.0, -1.0, np.inf], "shortage_cost": [-1.0, np.nan], "ordering_cost": [-2.0, "x"],
               "q_learning": [-1.0, "x", [1, 2]]}


@SETTINGS
@given(case=st.sampled_from([(p, v) for p, values in BAD_COMPARE.items() for v in values]))
def test_compare_policies_bad_parameters_are_named(case):
    param, bad = case
    rng = np.random.default_rng(3)
    train, test = rng.poisson(5, (2, 30)).astype(float), rng.poisson(5, (2, 10)).astype(float)
    kwargs = {"progress": False, "q_learning": {"episodes": 1}, param: bad}
    assert_rejects(lambda: inv.compare_policies(train, test, 1, **kwargs), [param])


@SETTINGS
@given(kind=st.sampled_from(["nan", "inf"]), where=st.sampled_from(["train", "test"]), row=st.integers(0, 1),
       col=st.integers(0, 9))
def test_compare_policies_refuses_non_finite_demand_by_name(kind, where, row, col):
    rng = np.random.default_rng(4)
    data = {"train": rng.poisson(5, (2, 30)).astype(float), "test": rng.poisson(5, (2, 10)).astype(float)}
    data[where][row, col] = np.nan if kind == "nan" else np.inf
    assert_rejects(lambda: inv.compare_policies(data["train"], data["test"], 1, progress=False,
                                                q_learning={"episodes": 1}), [where])


@SETTINGS
@given(policies=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3).filter(
           lambda ps: any(p not in ("base_stock", "RS", "sS") for p in ps)),
       levels=st.sampled_from([[0.0], [1.0], [], [0.5, np.nan], "high"]))
def test_service_cost_frontier_names_unknown_policies_and_bad_levels(policies, levels):
    rng = np.random.default_rng(5)
    args = dict(forecast=np.full(2, 5.0), errors=rng.normal(size=(2, 40)))
    err = assert_rejects(lambda: inv.service_cost_frontier(np.ones((2, 10)), 1, policies=policies, **args),
                         ["policies"])
    assert "base_stock" in str(err)
    assert_rejects(lambda: inv.service_cost_frontier(np.ones((2, 10)), 1, service_levels=levels, **args),
                   ["service_levels"])
    bad_errors = args["errors"].copy()
    bad_errors[0, 3] = np.inf
    assert_rejects(lambda: inv.service_cost_frontier(np.ones((2, 10)), 1, forecast=args["forecast"],
                                                     errors=bad_errors), ["errors"])
