"""The result of a simulation: spike times, counts, first-spike latencies and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from neurocircuits.errors import ValidationError


@dataclass
class SpikeResult:
    """What an engine recorded for a batch of ``B`` stimuli on a network of ``N`` nodes.

    Attributes:
        first_spike: (B, N) float64 time of each node's first spike (``inf`` = never fired).
        counts: (B, N) int32 number of spikes of each node before the horizon.
        arrivals: (B,) number of signal arrivals (synaptic events) before the horizon.
        discarded: (B,) arrivals discarded because the target was refractory or an input.
        horizon: simulated time; events at times ``>= horizon`` never happen.
        dt: time step of the discrete engine (``None`` for the exact event-driven engine).
        refraction_ratio: median over edges of ``R_post / latency`` (a network diagnostic).
        spike_batch, spike_node, spike_time: every spike as (stimulus, node, time), sorted by
            (stimulus, time, node); ``None`` unless spikes were recorded.

    Example:
        >>> import math
        >>> r = SpikeResult(torch.tensor([[0.0, math.inf]], dtype=torch.float64),
        ...                 torch.tensor([[1, 0]], dtype=torch.int32), torch.zeros(1), torch.zeros(1),
        ...                 horizon=5.0)
        >>> r.batch_size, r.n_nodes, r.fired().tolist()
        (1, 2, [[True, False]])
    """

    first_spike: torch.Tensor
    counts: torch.Tensor
    arrivals: torch.Tensor
    discarded: torch.Tensor
    horizon: float
    dt: float | None = None
    refraction_ratio: float = float("nan")
    spike_batch: torch.Tensor | None = None
    spike_node: torch.Tensor | None = None
    spike_time: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return int(self.first_spike.shape[0])

    @property
    def n_nodes(self) -> int:
        return int(self.first_spike.shape[1])

    def fired(self) -> torch.Tensor:
        """(B, N) bool: the node fired at least once."""
        return torch.isfinite(self.first_spike)

    def discard_fraction(self) -> float:
        """Fraction of all arrivals that were discarded (refractory target or input node)."""
        tot = float(self.arrivals.sum())
        return float(self.discarded.sum()) / tot if tot else 0.0

    def spike_trains(self, b: int) -> list[tuple[float, int]]:
        """Sorted ``(time, node)`` pairs of stimulus ``b`` (needs recorded spikes)."""
        if self.spike_batch is None:
            raise ValidationError("spikes were not recorded; simulate with record_spikes=True")
        m = self.spike_batch == b
        pairs = zip(self.spike_time[m].tolist(), self.spike_node[m].tolist())  # type: ignore[index]
        return sorted((float(t), int(n)) for t, n in pairs)

    def first_spike_features(self, nodes: torch.Tensor | None = None) -> torch.Tensor:
        """``(horizon - t_first) / horizon`` per node (0 = never fired), float32, shape (B, len(nodes))."""
        fs = self.first_spike if nodes is None else self.first_spike[:, nodes]
        return torch.where(torch.isfinite(fs), (self.horizon - fs) / self.horizon,
                           torch.zeros((), dtype=fs.dtype, device=fs.device)).float()

    def to(self, device: str | torch.device) -> "SpikeResult":
        mv = lambda x: None if x is None else x.to(device)  # noqa: E731
        return SpikeResult(mv(self.first_spike), mv(self.counts), mv(self.arrivals), mv(self.discarded),  # type: ignore[arg-type]
                           self.horizon, self.dt, self.refraction_ratio, mv(self.spike_batch),
                           mv(self.spike_node), mv(self.spike_time))
