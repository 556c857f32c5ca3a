"""``TorchRegressor``: a small torch network (MLP or LSTM) with a scikit-learn API, on CPU or CUDA.

Arrays cross into torch through DLPack (no host round trip for CuPy input), so the same code
trains on the input's device; predictions come back in the input's array namespace.

Input contract: NaN or ``inf`` in ``X``, ``y`` or the weights is refused naming the column
(as for every estimator of :mod:`toolkit.regress`); frame columns are matched to
``feature_names_in_`` by name at predict; ``NotFittedError`` before fit; Dask collections
are refused (compute them first); bad hyper-parameters raise
:class:`~toolkit.errors.DataValidationError` naming them.

Examples
--------
>>> import numpy as np
>>> from toolkit.regress import TorchRegressor
>>> X = np.random.default_rng(0).normal(size=(512, 3))
>>> TorchRegressor(max_epochs=5).fit(X, X.sum(axis=1)).predict(X).shape
(512,)
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, RegressorMixin

from toolkit import backend
from toolkit.errors import DataValidationError
from toolkit.panel import blocks, checks
from toolkit.regress.inputs import as_float_array, check_finite_array, features_for_predict, prepare_xy, require_fitted

__all__ = ["TorchRegressor"]

_PREDICT_BATCH = 65_536


class TorchRegressor(RegressorMixin, BaseEstimator):
    """A small torch network (MLP or LSTM) with a scikit-learn API.

    Inputs and target are standardised; training uses Adam on mini-batches, early-stops on
    the *last* ``validation_fraction`` of the rows (rows are taken to be in time order) and
    restores the best epoch. The device is the input's (CuPy/cuDF -> CUDA, NumPy/pandas ->
    CPU) unless ``device`` is given. On CPU, a fit is deterministic for a given
    ``random_state`` (initialisation and shuffling use their own seeded generators; the global
    torch RNG state is restored afterwards).

    Parameters
    ----------
    kind : {"mlp", "lstm"}
        ``lstm`` reads each row as a sequence: 3-D input ``(n, steps, features)``, or 2-D input
        reshaped to ``(n, n_steps, n_features / n_steps)`` (default ``n_steps`` = number of
        columns, one value per step, oldest first).
    hidden_size, n_layers, dropout : network shape
    lr, weight_decay, batch_size, max_epochs, patience, validation_fraction : training
    n_steps : int, optional
    random_state : int
    device : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.regress import TorchRegressor
    >>> X = np.random.default_rng(0).normal(size=(512, 3))
    >>> model = TorchRegressor(max_epochs=30).fit(X, X.sum(axis=1))
    >>> model.predict(X).shape
    (512,)
    """

    def __init__(
        self,
        kind: str = "mlp",
        hidden_size: int = 64,
        n_layers: int = 2,
        dropout: float = 0.0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 1024,
        max_epochs: int = 100,
        patience: int = 5,
        validation_fraction: float = 0.1,
        n_steps: int | None = None,
        random_state: int = 0,
        device: str | None = None,
    ):
        self.kind = kind
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_steps = n_steps
        self.random_state = random_state
        self.device = device

    def _check_params(self) -> str:
        kind = checks.check_choice("kind", self.kind, ("mlp", "lstm"))
        for name, minimum in (("hidden_size", 1), ("n_layers", 1), ("batch_size", 1), ("max_epochs", 1),
                              ("patience", 1), ("random_state", 0)):
            checks.check_int(name, getattr(self, name), minimum=minimum)
        checks.check_number("lr", self.lr, minimum=0.0, low_open=True)
        checks.check_number("weight_decay", self.weight_decay, minimum=0.0)
        checks.check_number("dropout", self.dropout, 0.0, 1.0, high_open=True)
        checks.check_number("validation_fraction", self.validation_fraction, 0.0, 1.0, high_open=True)
        if self.n_steps is not None:
            checks.check_int("n_steps", self.n_steps, minimum=1)
        return kind

    def _tensor(self, arr: Any, device: str | None = None) -> Any:
        """A float32 torch tensor sharing (or copying to ``device``) the array's memory."""
        import torch

        xp = backend.array_namespace(arr)
        tensor = torch.from_dlpack(xp.astype(arr, xp.float32)).contiguous()
        return tensor if device is None else tensor.to(device)

    def _shape(self, X: Any) -> Any:
        if self.kind == "mlp":
            return X.reshape(X.shape[0], -1)
        if X.ndim == 3:
            return X
        steps = self.n_steps or X.shape[1]
        if X.shape[1] % steps:
            raise DataValidationError.for_parameter(
                "n_steps", f"must divide the {X.shape[1]} columns of X into equal steps", self.n_steps)
        return X.reshape(X.shape[0], steps, X.shape[1] // steps)

    def _network(self, n_in: int) -> Any:
        from torch import nn

        if self.kind == "mlp":
            layers, width = [], n_in
            for _ in range(self.n_layers):
                layers += [nn.Linear(width, self.hidden_size), nn.ReLU()]
                if self.dropout:
                    layers.append(nn.Dropout(self.dropout))
                width = self.hidden_size
            return nn.Sequential(*layers, nn.Linear(width, 1))

        class _LSTM(nn.Module):
            def __init__(self, n_features: int, hidden: int, layers: int, dropout: float):
                super().__init__()
                self.lstm = nn.LSTM(n_features, hidden, layers, batch_first=True,
                                    dropout=dropout if layers > 1 else 0.0)
                self.head = nn.Linear(hidden, 1)

            def forward(self, x):
                out, _ = self.lstm(x)
                return self.head(out[:, -1])

        return _LSTM(n_in, self.hidden_size, self.n_layers, self.dropout)

    def _inputs(self, X: Any, y: Any, sample_weight: Any) -> tuple:
        """Validated arrays: 2-D through the regression input contract, 3-D sequences checked here."""
        blocks.require_in_memory(X, "X", "TorchRegressor")
        if len(getattr(X, "shape", ())) != 3:
            return prepare_xy(X, y, sample_weight)
        Xa = as_float_array(X, "X")
        check_finite_array(Xa.reshape(Xa.shape[0], -1), "X")
        ya = as_float_array(y, "y").reshape(-1)
        if ya.shape[0] != Xa.shape[0]:
            checks.fail("y", f"{ya.shape[0]} values for {Xa.shape[0]} sequences of X")
        check_finite_array(ya, "y")
        wa = None if sample_weight is None else as_float_array(sample_weight, "sample_weight").reshape(-1)
        return Xa, ya, wa, None

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "TorchRegressor":
        """Train with early stopping on the last ``validation_fraction`` of the rows.

        Returns
        -------
        self
        """
        import torch

        self._check_params()
        Xa, ya, wa, names = self._inputs(X, y, sample_weight)
        Xt = self._shape(self._tensor(Xa, self.device))
        device = str(Xt.device)
        yt = self._tensor(ya, device).reshape(-1)
        wt = None if wa is None else self._tensor(wa, device).reshape(-1)
        n = Xt.shape[0]
        n_valid = int(n * self.validation_fraction) if n >= 50 else 0
        n_train = n - n_valid
        dims = tuple(range(Xt.ndim - 1))
        self.x_mean_ = Xt[:n_train].mean(dim=dims, keepdim=True)
        self.x_std_ = Xt[:n_train].std(dim=dims, keepdim=True).clamp_min(1e-12)
        self.y_mean_ = float(yt[:n_train].mean())
        self.y_std_ = float(yt[:n_train].std().clamp_min(1e-12)) if n_train > 1 else 1.0
        Xs = (Xt - self.x_mean_) / self.x_std_
        ys = (yt - self.y_mean_) / self.y_std_
        with torch.random.fork_rng(devices=[] if device == "cpu" else None):
            torch.manual_seed(self.random_state)
            net = self._network(Xs.shape[-1]).to(device)
        generator = torch.Generator(device="cpu").manual_seed(self.random_state)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)

        def loss_of(idx_x, idx_y, idx_w):
            err = (net(idx_x).reshape(-1) - idx_y) ** 2
            return (err * idx_w).sum() / idx_w.sum() if idx_w is not None else err.mean()

        best, best_state, stale, self.history_ = float("inf"), None, 0, []
        for _ in range(self.max_epochs):
            net.train()
            order = torch.randperm(n_train, generator=generator).to(device)
            for start in range(0, n_train, self.batch_size):
                batch = order[start: start + self.batch_size]
                optimizer.zero_grad()
                loss = loss_of(Xs[batch], ys[batch], None if wt is None else wt[batch])
                loss.backward()
                optimizer.step()
            if not n_valid:
                continue
            net.eval()
            with torch.no_grad():
                score = float(loss_of(Xs[n_train:], ys[n_train:], None if wt is None else wt[n_train:]))
            self.history_.append(score)
            if score < best - 1e-7:
                best, stale = score, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.network_, self.device_, self.n_epochs_ = net.eval(), device, len(self.history_)
        self.feature_names_in_ = names
        self.n_features_in_ = int(Xa.shape[1])
        self.input_ndim_ = int(Xa.ndim)
        return self

    def predict(self, X: Any) -> Any:
        """Predictions as NumPy (host input) or CuPy (device input).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        DataValidationError
            Columns missing or of another count than at fit, non-finite values.
        """
        import torch

        require_fitted(self, "network_")
        blocks.require_in_memory(X, "X", "TorchRegressor")
        if self.input_ndim_ == 3:
            Xa = as_float_array(X, "X")
            if Xa.ndim != 3 or Xa.shape[1] != self.n_features_in_:
                raise DataValidationError.for_parameter(
                    "X", f"expected sequences of shape (n, {self.n_features_in_}, ...), got {tuple(Xa.shape)}")
            check_finite_array(Xa.reshape(Xa.shape[0], -1), "X")
        else:
            Xa = features_for_predict(X, self.feature_names_in_, self.n_features_in_, "TorchRegressor")
        Xt = self._shape(self._tensor(Xa, self.device_))
        Xs = (Xt - self.x_mean_) / self.x_std_
        with torch.no_grad():
            out = torch.cat([self.network_(Xs[i: i + _PREDICT_BATCH]).reshape(-1)
                             for i in range(0, Xs.shape[0], _PREDICT_BATCH)])
        out = (out * self.y_std_ + self.y_mean_).double()
        xp = backend.array_namespace(Xa)
        return xp.from_dlpack(out.to(torch.from_dlpack(Xa).device))  # back on the input's device

