"""Structure-agnostic models of multichannel time series windows, and the baselines.

Every model maps an input window ``x`` of shape (B, W, N) (W frames of N neurons) to a
pair ``(next_frame, behaviour)``: the forecast of frame ``t+1`` for every neuron, (B, N),
and behaviour outputs (B, 3) = two reversal logits (forward, reversal) and the velocity.
Forecasts are residual (``x[:, -1] + delta``), so every network starts from persistence.

Models: :class:`MLPNet` (flattened window), :class:`GRUNet` (recurrent over frames),
:class:`TransformerNet` (self-attention over frames), and the baselines
:class:`Persistence`, :class:`TrainingMean` and :class:`RidgeAR` (closed-form ridge
regression from the flattened window; :func:`~neurocircuits.models.baselines.fit_linear_baselines`
also fits linear behaviour decoders and picks every regularisation on validation windows). :func:`rollout` runs any of them autoregressively k steps ahead.

Example:
    >>> import torch
    >>> m = GRUNet(n_neurons=5, hidden=8)
    >>> nxt, beh = m(torch.zeros(2, 6, 5))
    >>> tuple(nxt.shape), tuple(beh.shape)
    ((2, 5), (2, 3))
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from neurocircuits.errors import ValidationError

#: behaviour output columns: reversal logits (forward, reversal) and velocity
N_BEHAVIOUR = 3


def _check_window(x: torch.Tensor, n_neurons: int | None = None, window: int | None = None) -> None:
    if x.ndim != 3:
        raise ValidationError(f"input windows must have shape (batch, frames, neurons), got {tuple(x.shape)}")
    if n_neurons is not None and x.shape[2] != n_neurons:
        raise ValidationError(f"model was built for {n_neurons} neurons, input has {x.shape[2]}")
    if window is not None and x.shape[1] != window:
        raise ValidationError(f"model was built for windows of {window} frames, input has {x.shape[1]}")


class _Heads(nn.Module):
    """Forecast (residual) and behaviour heads over a pooled feature vector."""

    def __init__(self, features: int, n_neurons: int):
        super().__init__()
        self.forecast = nn.Linear(features, n_neurons)
        self.behaviour = nn.Linear(features, N_BEHAVIOUR)
        nn.init.zeros_(self.forecast.weight)
        nn.init.zeros_(self.forecast.bias)

    def forward(self, z: torch.Tensor, last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return last + self.forecast(z), self.behaviour(z)


class MLPNet(nn.Module):
    """Two hidden layers (ReLU, dropout) on the flattened window (W * N inputs).

    Example:
        >>> import torch
        >>> MLPNet(4, window=3, hidden=8)(torch.zeros(1, 3, 4))[0].shape
        torch.Size([1, 4])
    """

    def __init__(self, n_neurons: int, window: int, hidden: int = 256, dropout: float = 0.1):
        super().__init__()
        self.n_neurons, self.window = n_neurons, window
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(window * n_neurons, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.heads = _Heads(hidden, n_neurons)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_window(x, self.n_neurons, self.window)
        return self.heads(self.body(x), x[:, -1])


class GRUNet(nn.Module):
    """A GRU over frames (input: all N neurons of a frame), read out at the last frame."""

    def __init__(self, n_neurons: int, hidden: int = 128, layers: int = 1):
        super().__init__()
        self.n_neurons = n_neurons
        self.rnn = nn.GRU(n_neurons, hidden, num_layers=layers, batch_first=True)
        self.heads = _Heads(hidden, n_neurons)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_window(x, self.n_neurons)
        out, _ = self.rnn(x)
        return self.heads(out[:, -1], x[:, -1])


class TransformerNet(nn.Module):
    """A Transformer encoder over frames (one token per frame, learned positions), last token read out."""

    def __init__(self, n_neurons: int, window: int, d_model: int = 64, heads: int = 4, layers: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.n_neurons, self.window = n_neurons, window
        self.embed = nn.Linear(n_neurons, d_model)
        self.pos = nn.Parameter(torch.zeros(1, window, d_model))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model, dropout=dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.heads = _Heads(d_model, n_neurons)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_window(x, self.n_neurons, self.window)
        z = self.encoder(self.embed(x) + self.pos)
        return self.heads(z[:, -1], x[:, -1])


class Persistence(nn.Module):
    """Forecast baseline ``x_{t+1} = x_t`` (behaviour outputs are zeros)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_window(x)
        return x[:, -1], x.new_zeros(x.shape[0], N_BEHAVIOUR)


class TrainingMean(nn.Module):
    """Forecast baseline: every frame is the training mean of each neuron (0 on z-scored traces).

    Example:
        >>> import torch
        >>> TrainingMean(torch.tensor([1.0, -1.0]))(torch.zeros(3, 6, 2))[0].tolist()
        [[1.0, -1.0], [1.0, -1.0], [1.0, -1.0]]
    """

    mean: torch.Tensor

    def __init__(self, mean: torch.Tensor | None = None, n_neurons: int | None = None):
        super().__init__()
        if mean is None:
            if n_neurons is None or n_neurons < 1:
                raise ValidationError("TrainingMean needs the training mean or n_neurons >= 1 (for a zero mean)")
            mean = torch.zeros(n_neurons)
        m = torch.as_tensor(mean, dtype=torch.float32)
        if m.ndim != 1:
            raise ValidationError(f"mean must be one value per neuron (1-D), got shape {tuple(m.shape)}")
        self.register_buffer("mean", m)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_window(x, int(self.mean.shape[0]))
        return self.mean.to(x.dtype).expand(x.shape[0], -1), x.new_zeros(x.shape[0], N_BEHAVIOUR)


class RidgeAR(nn.Module):
    """Linear autoregressive forecast: ridge regression from the flattened window to the next frame.

    Fitted in closed form by :meth:`fit` (intercept unpenalised). Behaviour outputs are zeros.

    Example:
        >>> import torch
        >>> x = torch.randn(200, 2, 3); y = 0.5 * x[:, -1]
        >>> m = RidgeAR().fit(x, y, alpha=1e-6)
        >>> bool(torch.allclose(m(x)[0], y, atol=1e-3))
        True
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("coef", torch.zeros(0))
        self.register_buffer("intercept", torch.zeros(0))

    def fit(self, x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0) -> "RidgeAR":
        _check_window(x)
        if x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise ValidationError(f"ridge needs matching, non-empty x and y, got {x.shape[0]} and {y.shape[0]}")
        if alpha < 0:
            raise ValidationError(f"alpha must be >= 0, got {alpha}")
        X = x.reshape(x.shape[0], -1).double()
        Y = y.double()
        xm, ym = X.mean(0), Y.mean(0)
        Xc, Yc = X - xm, Y - ym
        gram = Xc.T @ Xc + alpha * torch.eye(X.shape[1], dtype=X.dtype, device=X.device)
        coef = torch.linalg.solve(gram, Xc.T @ Yc)
        self.coef = coef.float()
        self.intercept = (ym - xm @ coef).float()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.coef.numel() == 0:
            raise ValidationError("RidgeAR is not fitted; call .fit(x, y) first")
        _check_window(x)
        return x.reshape(x.shape[0], -1) @ self.coef + self.intercept, x.new_zeros(x.shape[0], N_BEHAVIOUR)


def rollout(predict_next: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, steps: int) -> torch.Tensor:
    """Autoregressive forecast: feed each prediction back in as the newest frame.

    Returns (B, steps, N); ``[:, k-1]`` is the k-step-ahead prediction.

    Example:
        >>> import torch
        >>> x = torch.arange(3.0).reshape(1, 3, 1)
        >>> rollout(lambda w: w[:, -1] + 1, x, 2)[0, :, 0].tolist()
        [3.0, 4.0]
    """
    _check_window(x)
    if steps < 1:
        raise ValidationError(f"steps must be >= 1, got {steps}")
    out = []
    win = x
    for _ in range(steps):
        nxt = predict_next(win)
        out.append(nxt)
        win = torch.cat([win[:, 1:], nxt[:, None]], dim=1)
    return torch.stack(out, dim=1)
