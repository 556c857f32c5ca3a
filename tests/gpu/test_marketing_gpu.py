"""Marketing on the GPU: cudf frames in, cudf frames out, same values as pandas."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.datasets import make_retail
from toolkit.decisions import marketing as mk

pytestmark = pytest.mark.gpu
cudf = pytest.importorskip("cudf", reason="the marketing frame functions need cuDF on the GPU")


@pytest.fixture(scope="module")
def retail():
    return make_retail(n_skus=15, n_locations=5, n_days=200, seed=2, progress=False, backend="cpu")


def test_channel_panel_cudf_matches_pandas(retail):
    host = mk.channel_panel(retail.orders, retail.marketing)
    dev = mk.channel_panel(cudf.from_pandas(retail.orders), cudf.from_pandas(retail.marketing))
    assert type(dev).__module__.startswith("cudf")
    np.testing.assert_allclose(dev["revenue"].to_numpy(), host["revenue"].to_numpy(), rtol=1e-9)


def test_marketing_anomalies_cudf_matches_pandas(retail):
    host = mk.marketing_anomalies(retail.marketing)
    dev = mk.marketing_anomalies(cudf.from_pandas(retail.marketing))
    assert type(dev.days).__module__.startswith("cudf")
    np.testing.assert_array_equal(dev.days["is_anomaly"].to_numpy(), host.days["is_anomaly"].to_numpy())


def test_mmm_contributions_cudf(retail):
    panel = mk.channel_panel(retail.orders, retail.marketing)
    model = mk.MarketingMixModel(fourier_order=0, n_windows=2, horizon=30, decays=(0.3, 0.6), shapes=(1.0,))
    host = model.fit(panel).contributions()
    dev = mk.MarketingMixModel(**model.get_params()).fit(cudf.from_pandas(panel)).contributions()
    assert type(dev).__module__.startswith("cudf")
    np.testing.assert_allclose(dev["fitted"].to_numpy(), host["fitted"].to_numpy(), rtol=1e-9)
