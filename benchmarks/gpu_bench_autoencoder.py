"""GPU benchmark: the autoencoder detector (toolkit.anomaly) with torch on CUDA vs on the CPU vs PyOD's AutoEncoder.

``make_detector("autoencoder")`` is PyOD's network, loss and optimiser trained on slices of
one preloaded tensor (batch 1024, 5 epochs); PyOD's ``AutoEncoder`` feeds the same network
through a per-row ``Dataset``. Data: ``--rows`` x ``--cols`` float32 (normal and exponential
columns), 1 % of the rows shifted by 4 in a quarter of the columns. Timed: ``fit`` (training
and the scores of the training rows).

* device path: ours with ``device="cuda"`` (``"cpu"`` on the stand-in);
* our CPU path: ours with ``device="cpu"`` as shipped (one torch thread, ``cpu_threads=1``);
* peer: PyOD's ``AutoEncoder`` with the same hyper-parameters on the device path's device, on
  the first ``--peer-rows`` rows (its per-row loader is slow; the speed-up is in rows per second).

Training is stochastic and the devices round differently, so the scores cannot match value by
value: the agreement checked is the ROC-AUC of the scores against the shifted rows, within
0.02 of our CPU path and 0.05 of PyOD's (absolute). Every path runs ``--cpu-repeat`` times
(default 1) after a warm-up on 20k rows.
"""

from __future__ import annotations

import sys

import numpy as np

from gpu_common import Run, agreement, arguments, select_device, time_call

SIZES = {"rows": 1_000_000, "cols": 20, "peer_rows": 100_000}
TINY = {"rows": 4_000, "cols": 8, "peer_rows": 2_000}
HYPER = {"batch_size": 1024, "epoch_num": 5, "lr": 1e-3, "hidden_neuron_list": [64, 32], "dropout_rate": 0.1,
         "random_state": 0, "verbose": 0}


def make_data(rows: int, cols: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    half = cols // 2
    X = np.column_stack([rng.standard_normal((rows, half)), rng.exponential(size=(rows, cols - half))])
    labels = np.zeros(rows, dtype=np.int64)
    shifted = rng.choice(rows, max(2, rows // 100), replace=False)
    X[shifted, : max(1, cols // 4)] += 4.0
    labels[shifted] = 1
    return X.astype(np.float32), labels


def auc(labels: np.ndarray, scores) -> np.ndarray:
    from sklearn.metrics import roc_auc_score

    return np.array([roc_auc_score(labels, np.asarray(scores, dtype=np.float64))])


def main() -> int:
    args = arguments(__doc__, SIZES, TINY)
    device = select_device(args.device)
    import torch

    from toolkit.anomaly import make_detector

    X, labels = make_data(args.rows, args.cols, args.seed)
    warm = X[: min(len(X), 20_000)]
    run = Run("autoencoder", device, args, peer="" if args.no_peer else "PyOD AutoEncoder")

    def ours(data, where):
        return make_detector("autoencoder", contamination=0.01, device=where).fit(data)

    timings = {"device": time_call(lambda: ours(X, device.torch), device, args.cpu_repeat,
                                   warmup=lambda: ours(warm, device.torch)),
               "cpu": time_call(lambda: ours(X, "cpu"), None, args.cpu_repeat, warmup=lambda: ours(warm, "cpu"))}
    got = auc(labels, timings["device"].result.decision_scores_)
    checks = [agreement("roc_auc", got, auc(labels, timings["cpu"].result.decision_scores_), 0.0, 0.02)]
    rows = {"device": len(X), "cpu": len(X)}
    params = {"rows": len(X), "cols": X.shape[1], **HYPER, "cpu_threads": 1, "roc_auc_device": float(got[0])}
    if not args.no_peer:
        from pyod.models.auto_encoder import AutoEncoder

        m = min(args.peer_rows or len(X), len(X))
        timings["peer"] = time_call(lambda: AutoEncoder(contamination=0.01, device=device.torch, **HYPER).fit(X[:m]),
                                    device, args.cpu_repeat,
                                    warmup=lambda: AutoEncoder(device=device.torch, **{**HYPER, "epoch_num": 1}).fit(
                                        warm[:2_000]))
        rows["peer"] = m
        same = got if m == len(X) else auc(labels[:m], ours(X[:m], device.torch).decision_scores_)
        checks.append(agreement("roc_auc", same, auc(labels[:m], timings["peer"].result.decision_scores_), 0.0,
                                0.05, against="peer"))
    params["torch"] = torch.__version__
    run.case("fit", timings, rows, checks, params)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
