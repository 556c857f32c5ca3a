"""One retail workflow and every public frame verb, written once and run on any frame library.

The GPU tests (``test_workflow_gpu.py``) run them on cuDF and on ``dask_cudf`` and compare
each output with the pandas run; ``tests/unit/test_gpu_workflow.py`` runs the same code on
pandas and on pandas-backed Dask without a GPU, so the workflow itself is known to run and a
verb missing from :data:`VERBS` is noticed. Nothing here is a test by itself (no ``test_``
names) and nothing imports cuDF: a :class:`Library` says how a pandas table becomes a table of
the library under test.

* :func:`chain`: ``clean -> build_features -> Forecaster.fit/predict -> backtest ->
  anomaly.detect -> inventory decisions -> marketing and logistics helpers``, returning every
  stage's output by name.
* :data:`VERBS`: one call per public verb of cleanse, features, regress, forecast, anomaly
  and decisions that takes a frame, on small tables (:func:`tables`).
* :func:`assert_same`: outputs of two libraries equal within tolerance (frames compared on
  the host, in key order for Dask; arrays, scalars, dicts and result objects recursively).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable

import numpy as np
import pandas as pd

import toolkit as tk
from toolkit import backend
from toolkit import cleanse as cl
from toolkit import features as F
from toolkit import regress as rg
from toolkit.anomaly import (ECOD, alarms, carrier_delays, click_fraud, detect, evaluate, explain, inventory_shrink,
                             make_detector, order_line_anomalies, price_changes, residual_anomalies)
from toolkit.decisions import inventory as inv
from toolkit.decisions import logistics as lg
from toolkit.decisions import marketing as mk
from toolkit.forecast import (ETS, SES, Croston, DampedTrend, Ensemble, Forecaster, Holt, MovingAverage, Naive,
                              SeasonalNaive, Theta, backtest)

KEYS = ["sku", "location"]
HORIZON = 14
RTOL, ATOL = 1e-6, 1e-8


@dataclasses.dataclass(frozen=True)
class Library:
    """How a pandas table becomes a table of the library under test."""

    name: str
    lift: Callable[[pd.DataFrame], Any]
    dask: bool = False


PANDAS = Library("pandas", lambda df: df)


@functools.lru_cache(maxsize=1)
def retail():
    """The small retail dataset every run starts from (host pandas tables)."""
    return tk.datasets.make_retail(n_skus=8, n_locations=3, n_days=150, seed=11, progress=False, backend="cpu")


def in_memory(frame: Any) -> Any:
    """A Dask frame computed (pandas or cuDF); in-memory frames unchanged."""
    return frame.compute() if backend.is_dask(frame) else frame


def spec() -> F.FeatureSpec:
    return F.FeatureSpec(lags=(1, 7, 14), rolling={7: ("mean", "std")}, calendar=("dayofweek", "month"), fourier=())


CLEAN_STEPS = [("validate", {"schema": cl.SCHEMAS["sales"].allow_missing("units"), "errors": "null"}),
               ("fill_missing", {"cols": "units", "method": "seasonal"}),
               ("fill_missing", {"cols": "units", "method": "bfill"})]


def chain(lib: Library) -> dict[str, Any]:
    """The end-to-end workflow on ``lib``'s frames; every stage's output by name."""
    data = retail()
    out: dict[str, Any] = {}
    clean, report = cl.clean(lib.lift(data.sales), CLEAN_STEPS)
    out["clean"], out["clean_report"] = clean, report.to_dict()
    out["features"] = F.build_features(clean, spec())
    cut = data.sales["date"].max() - pd.Timedelta(days=HORIZON)
    train, held_out = clean[clean["date"] <= cut], clean[clean["date"] > cut]
    model = Forecaster(rg.LinearRegression(), spec(), horizon=HORIZON).fit(train)
    out["forecast"] = forecast = in_memory(model.predict(HORIZON))
    # backtest refits per window on the whole frame in memory (documented), so Dask is computed first
    result = backtest(Forecaster(rg.LinearRegression(), spec(), horizon=7), in_memory(train), n_windows=2,
                      horizon=7, progress=False)
    out["backtest_forecasts"], out["backtest_overall"] = result.forecasts, result.overall
    out["detect"] = detect(clean, cols=["units"], method="ecod", id_cols=KEYS, contamination=0.01)
    errors = result.forecasts.assign(error=result.forecasts["actual"] - result.forecasts["forecast"])
    plan = inv.lead_time_demand(forecast, errors[[*KEYS, "date", "error"]], 3, 7, service_level=0.95, id_cols=KEYS)
    plan = inv.safety_stock("ltd_std", 0.95, target="cycle_service_level", data=plan)
    plan = inv.reorder_point("ltd_mean", "ltd_std", 0.95, target="cycle_service_level", data=plan)
    out["plan"] = plan = inv.eoq("ltd_mean", 8.0, 0.2, data=plan)
    params = plan.rename(columns={"reorder_point_csl": "S"})[[*KEYS, "S"]]
    out["simulation"] = inv.simulate_policy(held_out, "RS", params, 3, review_period=7, holding_cost=0.05,
                                            shortage_cost=2.0, ordering_cost=10.0, id_cols=KEYS)
    if lib.dask:  # the marketing and logistics helpers take in-memory frames (documented)
        return out
    orders, marketing, shipments = lib.lift(data.orders), lib.lift(data.marketing), lib.lift(data.shipments)
    out["channel_panel"] = panel = mk.channel_panel(orders, marketing)
    mmm = mk.MarketingMixModel(fourier_order=0, n_windows=2, horizon=30, decays=(0.3, 0.6), shapes=(1.0,),
                               half_sats=(1.0,)).fit(panel)
    out["mmm_contributions"] = mmm.contributions()
    out["budget"] = mk.allocate_budget(mmm, total=float(backend.to_host(panel["spend"]).sum()) / 150.0)
    out["marketing_anomalies"] = mk.marketing_anomalies(marketing)
    delivery = lg.DeliveryTimeModel().fit(shipments)
    out["delivery_predict"] = delivery.predict(shipments)
    out["late_risk"] = lg.late_risk(delivery, shipments)
    out["lane_delays"] = lg.lane_delays(shipments, model=delivery)
    out["zone_volumes"] = lg.zone_volumes(shipments)
    out["zone_forecast"] = lg.zone_demand_forecast(shipments, horizon=7)
    return out


# ----------------------------------------------------------------------------- every public verb


class Tables:
    """The retail tables in one library, and the inputs derived from them by our own verbs."""

    def __init__(self, lib: Library):
        self.lib = lib
        data = retail()
        for name in ("sales", "orders", "inventory", "shipments", "marketing", "products", "locations"):
            setattr(self, name, lib.lift(getattr(data, name)))
        self.truth = data.truth  # labels stay on the host (evaluate's contract)

    @functools.cached_property
    def clean(self) -> Any:
        return cl.clean(self.sales, CLEAN_STEPS)[0]

    @functools.cached_property
    def forecast(self) -> Any:
        model = Forecaster(rg.LinearRegression(), spec(), horizon=HORIZON, calibration_windows=2)
        return model.fit(self.clean).predict(HORIZON, quantiles=[0.1, 0.9])

    @functools.cached_property
    def channel_panel(self) -> Any:
        return mk.channel_panel(self.orders, self.marketing)

    @functools.cached_property
    def mmm(self) -> mk.MarketingMixModel:
        return mk.MarketingMixModel(fourier_order=0, n_windows=2, horizon=30, decays=(0.3,), shapes=(1.0,),
                                    half_sats=(1.0,)).fit(self.channel_panel)

    @functools.cached_property
    def delivery(self) -> lg.DeliveryTimeModel:
        return lg.DeliveryTimeModel().fit(self.shipments)

    def matrix(self) -> tuple[Any, Any]:
        """Features and target of the clean panel as arrays of the library (NumPy or CuPy)."""
        table = F.build_features(self.clean, spec()).dropna()
        names = ["lag_1", "lag_7", "rolling_mean_7", "dayofweek"]
        return tk.panel.frames.to_array(table[names]), tk.panel.frames.to_array(table["units"])

    def stops(self) -> Any:
        rng = np.random.default_rng(0)
        return self.lib.lift(pd.DataFrame({"x": rng.uniform(-10, 10, 12), "y": rng.uniform(-10, 10, 12),
                                           "demand": rng.integers(1, 3, 12).astype(float)}))


def _orders_by_channel(t: Tables) -> dict:
    host = backend.to_host(t.orders)
    return {str(c): t.lib.lift(part.drop(columns="channel").reset_index(drop=True))
            for c, part in host.groupby("channel", observed=True)}


def _adstock_frame(t: Tables) -> Any:
    return t.marketing[["date", "channel", "spend", "impressions"]]


def _lp_nodes(t: Tables) -> Any:
    return t.lib.lift(pd.DataFrame({"sku": ["a", "a", "b", "c"], "channel": ["web", "app", "web", "app"],
                                    "roi": [2.0, 1.5, 3.0, 0.5], "max_spend": [10.0, 5.0, 8.0, 4.0],
                                    "units_per_spend": [0.2, 0.1, 0.3, 0.05]}))


def _lp_stock(t: Tables) -> Any:
    return t.lib.lift(pd.DataFrame({"sku": ["a", "b", "c"], "available_units": [1.0, 0.5, 10.0]}))


VERBS: dict[str, Callable[[Tables], Any]] = {
    # cleanse
    "cleanse.clean": lambda t: cl.clean(t.sales, CLEAN_STEPS),
    "cleanse.validate": lambda t: cl.validate(t.sales, cl.SCHEMAS["sales"].allow_missing("units"), errors="null"),
    "cleanse.coerce_types": lambda t: cl.coerce_types(t.orders, "orders"),
    "cleanse.drop_duplicates": lambda t: cl.drop_duplicates(t.orders, keys="order_id"),
    "cleanse.complete_calendar": lambda t: cl.complete_calendar(t.sales[t.sales["date"].dt.dayofweek != 2], freq="D"),
    "cleanse.fill_missing": lambda t: cl.fill_missing(t.sales, "units", method="linear"),
    "cleanse.clip_outliers": lambda t: cl.clip_outliers(t.clean, "units", method="iqr", id_cols=KEYS),
    "cleanse.flag_outliers": lambda t: cl.flag_outliers(t.clean, "units", method="hampel", id_cols=KEYS),
    "cleanse.pseudonymize": lambda t: cl.pseudonymize(t.orders, ["email", "customer_id"], b"k" * 32),
    "cleanse.scale": lambda t: cl.scale(t.clean, "units", method="robust", id_cols=KEYS)[0],
    "cleanse.Scaler": lambda t: cl.Scaler("units", "standard", id_cols=KEYS).fit(t.clean).inverse_transform(
        cl.Scaler("units", "standard", id_cols=KEYS).fit(t.clean).transform(t.clean)),
    "cleanse.integrate_channels": lambda t: cl.integrate_channels(_orders_by_channel(t), tz="UTC"),
    # features
    "features.build_features": lambda t: F.build_features(t.clean, spec()),
    "features.add_lags": lambda t: F.add_lags(t.clean, [1, 3]),
    "features.add_rolling": lambda t: F.add_rolling(t.clean, [3, 7], ("mean", "std", "max", "q0.5")),
    "features.add_expanding": lambda t: F.add_expanding(t.clean, ("mean", "max")),
    "features.add_ewm": lambda t: F.add_ewm(t.clean, alphas=(0.3,), spans=(7,)),
    "features.add_diff": lambda t: F.add_diff(t.clean, [1, 7]),
    "features.add_pct_change": lambda t: F.add_pct_change(t.clean.assign(units=t.clean["units"] + 1.0), 1),
    "features.add_calendar": lambda t: F.add_calendar(t.clean, features=["dayofweek", "month", "is_holiday"],
                                                      country="US"),
    "features.add_fourier": lambda t: F.add_fourier(t.clean, period=7.0, order=2),
    "features.add_price_features": lambda t: F.add_price_features(t.clean, window=7),
    "features.add_channel_share": lambda t: F.add_channel_share(t.clean, window=7),
    "features.add_target_encoding": lambda t: F.add_target_encoding(t.clean, "sku", min_count=2),
    "features.add_adstock": lambda t: F.add_adstock(_adstock_frame(t), "spend", decay=0.5, max_lag=5),
    "features.add_saturation": lambda t: F.add_saturation(_adstock_frame(t), "spend", half_sat=100.0, shape=1.5),
    # regress (frames and the arrays taken from them)
    "regress.evaluate": lambda t: rg.evaluate(t.forecast.merge(t.clean, on=[*KEYS, "date"]), metrics=("mae", "wape")),
    "regress.time_series_splits": lambda t: rg.time_series_splits(t.clean, n_windows=2, horizon=7),
    "regress.LinearRegression": lambda t: rg.LinearRegression().fit(*t.matrix()).predict(t.matrix()[0]),
    "regress.Ridge": lambda t: rg.Ridge(alpha=2.0).fit(*t.matrix()).predict(t.matrix()[0]),
    "regress.RidgeCV": lambda t: rg.RidgeCV().fit(*t.matrix()).predict(t.matrix()[0]),
    "regress.make_model": lambda t: rg.make_model("ridge", alpha=1.0).fit(*t.matrix()).predict(t.matrix()[0]),
    "regress.search": lambda t: rg.search(rg.Ridge(), {"alpha": [0.1, 10.0]}, *t.matrix(), n_windows=2,
                                          horizon=50).results.drop(columns="params"),
    "regress.permutation_importance": lambda t: rg.permutation_importance(rg.LinearRegression(), *t.matrix(),
                                                                          n_repeats=2),
    "regress.metrics": lambda t: {name: rg.METRICS[name](t.matrix()[1], t.matrix()[1] * 0.9 + 0.1)
                                  for name in sorted(rg.METRICS)},
    # forecast
    "forecast.Forecaster": lambda t: t.forecast,
    "forecast.Forecaster.direct": lambda t: Forecaster(rg.Ridge(), spec(), horizon=7, strategy="direct",
                                                       target_transform="log1p").fit(t.clean).predict(7),
    "forecast.backtest": lambda t: backtest(Forecaster(rg.LinearRegression(), spec(), horizon=7), t.clean,
                                            n_windows=2, horizon=7, progress=False),
    "forecast.Naive": lambda t: Naive(horizon=7).fit(t.clean).predict(),
    "forecast.SeasonalNaive": lambda t: SeasonalNaive(7, horizon=7).fit(t.clean).predict(),
    "forecast.MovingAverage": lambda t: MovingAverage(7, horizon=7).fit(t.clean).predict(),
    "forecast.Croston": lambda t: Croston(horizon=7).fit(t.clean).predict(),
    "forecast.ETS": lambda t: ETS(trend="add", seasonal="add", season_length=7, horizon=7).fit(t.clean).predict(),
    "forecast.SES": lambda t: SES(horizon=7).fit(t.clean).predict(),
    "forecast.Holt": lambda t: Holt(horizon=7).fit(t.clean).predict(),
    "forecast.DampedTrend": lambda t: DampedTrend(horizon=7).fit(t.clean).predict(),
    "forecast.Theta": lambda t: Theta(season_length=7, horizon=7).fit(t.clean).predict(),
    "forecast.Ensemble": lambda t: Ensemble({"naive": Naive(), "mean": MovingAverage(window=7)}, combine="weighted",
                                            n_windows=2, horizon=7).fit(t.clean).predict(),
    # anomaly
    "anomaly.detect": lambda t: detect(t.clean, ["units", "price"], method=["ecod", "robust_z"], id_cols=KEYS,
                                       contamination=0.02),
    "anomaly.detect.hampel": lambda t: detect(t.clean, "units", method="hampel", id_cols=KEYS),
    "anomaly.alarms": lambda t: alarms(detect(t.clean, "units", method="robust_z", id_cols=KEYS), min_hits=1,
                                       window=3, id_cols=KEYS),
    "anomaly.residual_anomalies": lambda t: residual_anomalies(t.clean, t.forecast, quantiles=(0.1, 0.9)),
    "anomaly.order_line_anomalies": lambda t: order_line_anomalies(t.orders),
    "anomaly.inventory_shrink": lambda t: inventory_shrink(t.inventory),
    "anomaly.carrier_delays": lambda t: carrier_delays(t.shipments),
    "anomaly.click_fraud": lambda t: click_fraud(t.marketing),
    "anomaly.price_changes": lambda t: price_changes(t.clean, KEYS, direction="up", promo_col="promo"),
    "anomaly.evaluate": lambda t: evaluate(t.truth, detect(t.sales.assign(units=t.sales["units"].fillna(0.0)),
                                                           "units", method="robust_z", id_cols=KEYS),
                                           table="sales", types=["demand_spike", "demand_drop"]),
    "anomaly.explain": lambda t: explain(ECOD().fit(t.matrix()[0]), t.lib.lift(
        pd.DataFrame(backend.to_host(t.matrix()[0]), columns=["lag_1", "lag_7", "rolling_mean_7", "dayofweek"])),
        rows=[0, 5], top=2),
    "anomaly.make_detector": lambda t: make_detector("copod", contamination=0.05).fit(t.matrix()[0]).decision_scores_,
    # decisions: inventory
    "inventory.lead_time_demand": lambda t: inv.lead_time_demand(
        t.forecast, t.clean.assign(error=t.clean["units"] - t.clean["units"].mean())[[*KEYS, "date", "error"]],
        2, 7, service_level=0.9, id_cols=KEYS),
    "inventory.safety_stock": lambda t: inv.safety_stock("sigma", 0.95, target="fill_rate", order_quantity="q",
                                                         data=_inventory_rows(t)),
    "inventory.reorder_point": lambda t: inv.reorder_point("mean", "sigma", 0.9, target="cycle_service_level",
                                                           data=_inventory_rows(t)),
    "inventory.eoq": lambda t: inv.eoq("mean", 8.0, 0.3, data=_inventory_rows(t)),
    "inventory.newsvendor_quantity": lambda t: inv.newsvendor_quantity(["q10", "q90"], [0.1, 0.9], 3.0, 1.0,
                                                                       data=_inventory_rows(t)),
    "inventory.simulate_policy": lambda t: inv.simulate_policy(
        t.clean, "sS", _inventory_rows(t).assign(S=lambda d: d["mean"] * 6, s=lambda d: d["mean"] * 3)
        [[*KEYS, "s", "S"]], 2, review_period=3, holding_cost=0.1, shortage_cost=1.0, id_cols=KEYS),
    # decisions: logistics
    "logistics.delivery_features": lambda t: lg.delivery_features(t.shipments),
    "logistics.DeliveryTimeModel": lambda t: t.delivery.predict(t.shipments),
    "logistics.late_risk": lambda t: lg.late_risk(t.delivery, t.shipments),
    "logistics.lane_delays": lambda t: lg.lane_delays(t.shipments, model=t.delivery),
    "logistics.zone_volumes": lambda t: lg.zone_volumes(t.shipments),
    "logistics.zone_demand_forecast": lambda t: lg.zone_demand_forecast(t.shipments, horizon=7, quantiles=[0.9]),
    "logistics.plan_routes": lambda t: lg.plan_routes(t.stops(), (0.0, 0.0), vehicles=3, capacity=10.0,
                                                      time_limit=0.3, solver="pyvrp"),
    # decisions: marketing
    "marketing.channel_panel": lambda t: t.channel_panel,
    "marketing.MarketingMixModel": lambda t: t.mmm.contributions(),
    "marketing.allocate_budget": lambda t: mk.allocate_budget(t.mmm, total=500.0),
    "marketing.allocate_budget_lp": lambda t: mk.allocate_budget_lp(_lp_nodes(t), total=12.0, inventory=_lp_stock(t),
                                                                    stock_keys="sku"),
    "marketing.marketing_anomalies": lambda t: mk.marketing_anomalies(t.marketing),
}
"""Verb name -> call on :class:`Tables`. Names are ``package.verb`` as exported."""

SEARCHED = {"forecast.ETS", "forecast.SES", "forecast.Holt", "forecast.DampedTrend", "forecast.Theta"}
"""Verbs whose parameters come from a search comparing losses: on the GPU a last-digit difference
(fused multiply-adds) can stop it at a neighbouring point, so they are compared at rtol 1e-4."""

HOST_RESULTS = {"regress.time_series_splits", "regress.search", "regress.permutation_importance", "regress.metrics",
                "anomaly.evaluate", "marketing.allocate_budget"}
"""Verbs documented to return host results (positions, summary tables, scalars) whatever the input."""


def _inventory_rows(t: Tables) -> Any:
    """One row per series with demand statistics (a frame of the library, built by our verbs)."""
    plan = inv.lead_time_demand(t.forecast, t.clean.assign(error=t.clean["units"] * 0.1)[[*KEYS, "date", "error"]],
                                1, 0, id_cols=KEYS)
    return plan.assign(mean=plan["ltd_mean"] / 1.0 + 1.0, sigma=plan["ltd_std"] + 0.5, q=plan["ltd_mean"] * 7 + 1.0,
                       q10=plan["ltd_mean"] * 0.5, q90=plan["ltd_mean"] * 1.5 + 1.0)


# ----------------------------------------------------------------------------- comparison


def _host_frame(obj: Any, sort: bool) -> Any:
    if backend.is_dask(obj):
        obj = obj.compute()
    obj = backend.to_host(obj)
    if sort and isinstance(obj, pd.DataFrame):
        keys = [c for c in obj.columns if str(obj[c].dtype) in ("category", "str", "object", "string")
                or obj[c].dtype.kind in "iuMb"]
        obj = obj.sort_values(keys, kind="stable").reset_index(drop=True) if keys else obj.reset_index(drop=True)
    return obj


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Dtype spellings of the libraries made comparable: numbers and booleans as float64 with NaN
    for missing (pandas' nullable ``Int64``/``boolean`` hold ``<NA>`` where cuDF's ``to_pandas``
    gives float NaN, or objects for booleans), text and categories as ``str``."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        kind = getattr(values.dtype, "kind", "O")
        text = str(values.dtype) in ("category", "str", "string", "object")
        present = values.dropna()
        if kind in "iufb" and not text:
            out[col] = values.astype("float64")
        elif str(values.dtype) == "object" and len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
            out[col] = values.map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else np.nan).astype("float64")
        elif text:
            out[col] = values.astype(object).where(values.notna(), None).astype(str)
    return out


def assert_same(got: Any, want: Any, where: str = "", sort: bool = False, rtol: float = RTOL, atol: float = ATOL
                ) -> None:
    """``got`` (another library's output) equals ``want`` (pandas') within tolerance, recursively.

    Frames and Series are compared on the host (Dask computed; rows sorted by their key-like
    columns when ``sort``), dtypes loosely (a nullable integer equals a float holding the
    same values); arrays with NaN in the same places; scalars with ``math.isclose``.
    """
    if hasattr(want, "columns") or (hasattr(want, "index") and hasattr(want, "dtype")):
        g, w = _host_frame(got, sort), _host_frame(want, sort)
        if hasattr(w, "columns"):
            assert list(g.columns) == list(w.columns), f"{where}: columns {list(g.columns)} != {list(w.columns)}"
            pd.testing.assert_frame_equal(_plain(g), _plain(w), check_dtype=False, check_exact=False, rtol=rtol,
                                          atol=atol, check_index_type=False, check_categorical=False, obj=where)
        else:
            assert g.name == w.name, f"{where}: name {g.name!r} != {w.name!r}"
            pd.testing.assert_frame_equal(_plain(g.to_frame("values")), _plain(w.to_frame("values")),
                                          check_dtype=False, check_exact=False, rtol=rtol, atol=atol,
                                          check_index_type=False, check_categorical=False, obj=where)
        return
    if isinstance(want, dict):
        assert set(got) == set(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            assert_same(got[key], want[key], f"{where}[{key!r}]", sort, rtol, atol)
        return
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want), f"{where}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]", sort, rtol, atol)
        return
    if dataclasses.is_dataclass(want) or hasattr(want, "__dict__") and not isinstance(want, type):
        fields = [f.name for f in dataclasses.fields(want)] if dataclasses.is_dataclass(want) else [
            k for k in vars(want) if not k.startswith("_")]
        for name in fields:
            assert_same(getattr(got, name), getattr(want, name), f"{where}.{name}", sort, rtol, atol)
        return
    if hasattr(want, "shape") and hasattr(want, "dtype"):  # arrays
        g, w = np.asarray(backend.to_host(got)), np.asarray(backend.to_host(want))
        if w.dtype.kind in "fiub" and g.dtype.kind in "fiub":
            np.testing.assert_allclose(g.astype(float), w.astype(float), rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=where)
        else:
            np.testing.assert_array_equal(g, w, err_msg=where)
        return
    if isinstance(want, float) or isinstance(got, float):
        if not (math.isnan(float(want)) and math.isnan(float(got))):
            assert math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol), f"{where}: {got} != {want}"
        return
    assert got == want, f"{where}: {got!r} != {want!r}"


def frames_in(obj: Any) -> list:
    """Every frame or Series inside an output (dicts, tuples and result objects opened)."""
    if hasattr(obj, "columns") or (hasattr(obj, "index") and hasattr(obj, "dtype")):
        return [obj]
    if isinstance(obj, dict):
        return [f for v in obj.values() for f in frames_in(v)]
    if isinstance(obj, (tuple, list)):
        return [f for v in obj for f in frames_in(v)]
    if dataclasses.is_dataclass(obj):
        return [f for field in dataclasses.fields(obj) for f in frames_in(getattr(obj, field.name))]
    return []
