"""Encoder A of the spec: a fixed geometric network above the pixel plane, images as stimuli.

* 28 x 28 = 784 **input nodes** at pixel coordinates ``(col, row, 0)`` (pitch 1).
* ``n_hidden`` **hidden nodes** uniform in ``[0, 28]^2 x [z_min, z_max]``.
* Edges: input -> hidden when closer than ``r_in``; hidden -> hidden when closer than
  ``r_rec``, each kept with probability ``p_rec``; a fraction ``frac_inhibitory`` of the
  hidden nodes is inhibitory (all their out-edges weigh -1, the others +1).
* Latency = max(Euclidean distance x ``tortuosity`` / ``speed``, ``min_latency``) (a floor
  standing for the synaptic delay; it also keeps every delay >= 1 step when
  ``dt <= 2 * min_latency``).
* Stimulus (intensity -> latency code): a pixel with intensity ``x >= pixel_threshold``
  fires once at ``dt * round((1 - x) * (t_in - 1))``; dimmer pixels stay silent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from neurocircuits.dynamics.geometric.network import GeometricNetwork
from neurocircuits.errors import ValidationError, check_finite

SIDE = 28


def pixel_network(n_hidden: int = 2000, *, r_in: float = 2.0, r_rec: float = 2.0, p_rec: float = 0.3,
                  z_range: tuple[float, float] = (0.5, 4.0), frac_inhibitory: float = 0.0,
                  speed: float = 1.0, tortuosity: float = 1.0, refractory: float = 4.0,
                  threshold: float = 1.0, window: float = float("inf"), min_latency: float = 0.25,
                  side: int = SIDE,
                  seed: int = 0) -> GeometricNetwork:
    """A random geometric network with ``side**2`` pixel inputs (nodes ``0..side**2-1``).

    Example:
        >>> net = pixel_network(300, side=8, seed=0)
        >>> net.n, net.n_inputs, bool((net.latency > 0).all())
        (364, 64, True)
    """
    if not isinstance(n_hidden, (int, np.integer)) or n_hidden < 1:
        raise ValidationError(f"n_hidden must be a positive integer, got {n_hidden!r}")
    for name, v in (("r_in", r_in), ("r_rec", r_rec), ("speed", speed), ("min_latency", min_latency)):
        if not np.isfinite(v) or v <= 0:
            raise ValidationError(f"{name} must be > 0, got {v}")
    if not 0 <= p_rec <= 1 or not 0 <= frac_inhibitory <= 1:
        raise ValidationError("p_rec and frac_inhibitory must lie in [0, 1]")
    if tortuosity < 1:
        raise ValidationError(f"tortuosity must be >= 1, got {tortuosity}")
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    n_in = side * side
    rows, cols = np.divmod(np.arange(n_in), side)
    pin = np.stack([cols + 0.5, rows + 0.5, np.zeros(n_in)], 1).astype(np.float64)
    ph = np.column_stack([rng.uniform(0, side, (n_hidden, 2)), rng.uniform(*z_range, n_hidden)])
    th = cKDTree(ph)
    nb = cKDTree(pin).query_ball_tree(th, r_in)
    pre_in = np.repeat(np.arange(n_in), [len(x) for x in nb])
    post_in = np.concatenate([np.asarray(x, dtype=np.int64) for x in nb]) + n_in
    pairs = th.query_pairs(r_rec, output_type="ndarray")
    pr = np.concatenate([pairs[:, 0], pairs[:, 1]])
    po = np.concatenate([pairs[:, 1], pairs[:, 0]])
    keep = rng.random(pr.size) < p_rec
    pre = np.concatenate([pre_in, pr[keep] + n_in])
    post = np.concatenate([post_in, po[keep] + n_in])
    pos = np.concatenate([pin, ph])
    lat = np.maximum(tortuosity * np.linalg.norm(pos[pre] - pos[post], axis=1) / speed, min_latency)
    inhib = np.zeros(n_in + n_hidden, dtype=bool)
    inhib[n_in:] = rng.random(n_hidden) < frac_inhibitory
    w = np.where(inhib[pre], -1.0, 1.0)
    ref = np.full(n_in + n_hidden, float(refractory))
    return GeometricNetwork.from_arrays(
        n_in + n_hidden, pre, post, lat, w, refractory=ref, threshold=threshold, window=window,
        inputs=np.arange(n_in), positions=pos,
        meta={"encoder": "pixel_network", "n_hidden": n_hidden, "r_in": r_in, "r_rec": r_rec, "p_rec": p_rec,
              "z_range": list(z_range), "frac_inhibitory": frac_inhibitory, "speed": speed,
              "tortuosity": tortuosity, "min_latency": min_latency, "seed": seed})


def reference_latency(net: GeometricNetwork) -> float:
    """The tau of the refraction ratio R / tau: mean latency of the hidden -> hidden edges,
    or of all edges when there are none (a feed-forward network).

    Example:
        >>> net = GeometricNetwork.from_arrays(3, [0, 1], [1, 2], [1.0, 3.0], inputs=[0])
        >>> reference_latency(net)
        3.0
    """
    if net.n_edges == 0:
        raise ValidationError("the network has no edges")
    rec = ~net.is_input[net.pre]
    return float(net.latency[rec].mean()) if rec.any() else float(net.latency.mean())


def latency_code(images: torch.Tensor | np.ndarray, *, t_in: int = 10, dt: float = 0.25,
                 pixel_threshold: float = 0.2) -> np.ndarray:
    """Intensity -> latency code: (B, n_pixels) firing times, ``inf`` for pixels below threshold.

    Example:
        >>> latency_code(np.array([[1.0, 0.5, 0.1]]), t_in=10, dt=0.25).tolist()
        [[0.0, 1.0, inf]]
    """
    x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    check_finite("images", x)
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValidationError(f"pixel intensities must lie in [0, 1], got [{x.min():.3g}, {x.max():.3g}]")
    if t_in < 1 or dt <= 0:
        raise ValidationError(f"need t_in >= 1 and dt > 0, got {t_in}, {dt}")
    steps = np.rint((1.0 - x) * (t_in - 1))
    return np.where(x >= pixel_threshold, steps * dt, np.inf)


def latency_features(images: torch.Tensor | np.ndarray, *, t_in: int = 10, dt: float = 0.25,
                     pixel_threshold: float = 0.2) -> torch.Tensor:
    """The stimulus itself as features: ``1 - t / (t_in dt)`` per pixel, 0 when silent (a control).

    Example:
        >>> latency_features(np.array([[1.0, 0.5, 0.1]]), t_in=10, dt=0.25).tolist()
        [[1.0, 0.6000000238418579, 0.0]]
    """
    s = latency_code(images, t_in=t_in, dt=dt, pixel_threshold=pixel_threshold)
    span = t_in * dt
    return torch.from_numpy(np.where(np.isfinite(s), 1.0 - s / span, 0.0)).float()


def gaussian_blur(images: torch.Tensor | np.ndarray, sigma: float, *, side: int = SIDE) -> torch.Tensor:
    """Images blurred by a Gaussian of ``sigma`` pixels, flattened to (B, side**2) float32 (a control).

    Example:
        >>> x = np.zeros((1, 9)); x[0, 4] = 1.0
        >>> y = gaussian_blur(x, 1.0, side=3)
        >>> bool(y[0, 4] > y[0, 0] > 0), round(float(y.sum()), 3) <= 1.0
        (True, True)
    """
    from scipy.ndimage import gaussian_filter

    if not np.isfinite(sigma) or sigma < 0:
        raise ValidationError(f"sigma must be >= 0, got {sigma}")
    x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    x = x.reshape(x.shape[0], side, side).astype(np.float32)
    return torch.from_numpy(gaussian_filter(x, sigma=(0, sigma, sigma))).reshape(x.shape[0], side * side)


READOUTS = ("first", "counts", "first+counts")


def hidden_readouts(net: GeometricNetwork, images: torch.Tensor | np.ndarray, *, horizon: float, dt: float = 0.25,
                    t_in: int = 10, pixel_threshold: float = 0.2, readouts: tuple[str, ...] = READOUTS,
                    batch_size: int = 500, device: str | torch.device | None = None,
                    progress: Any = None) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """The representation pipeline: images -> latency code -> dynamics -> hidden-node readouts.

    Readouts (hidden nodes only, never the stimulated inputs): ``first`` = ``(T - t_first) / T``
    (0 if silent), ``counts`` = ``log(1 + spikes)``, ``first+counts`` = both side by side.

    Returns:
        ``(features, diagnostics)``: a dict readout -> (B, n_hidden or 2 n_hidden) float32 CPU
        tensor, and activity diagnostics (spikes per hidden node, fraction of hidden nodes that
        fired, discarded fraction of arrivals, events per image, events/s, simulation seconds).

    Example:
        >>> net = pixel_network(200, side=8, seed=0)
        >>> f, d = hidden_readouts(net, np.random.default_rng(0).random((3, 64)), horizon=10.0)
        >>> f["first"].shape, f["first+counts"].shape
        (torch.Size([3, 200]), torch.Size([3, 400]))
    """
    import time

    from neurocircuits.dynamics.geometric.fast import simulate

    bad = set(readouts) - set(READOUTS)
    if bad or not readouts:
        raise ValidationError(f"readouts must be a non-empty subset of {READOUTS}, got {readouts}")
    hidden = torch.from_numpy(net.hidden())
    first, counts = [], []
    arrivals = discarded = 0.0
    t0 = time.perf_counter()
    starts = range(0, int(images.shape[0]), batch_size)
    for s in (progress(starts) if progress else starts):
        stim = latency_code(images[s:s + batch_size], t_in=t_in, dt=dt, pixel_threshold=pixel_threshold)
        r = simulate(net, stim, horizon, dt=dt, device=device)
        first.append(r.first_spike_features(hidden))
        counts.append(r.counts[:, hidden])
        arrivals += float(r.arrivals.sum())
        discarded += float(r.discarded.sum())
    wall = time.perf_counter() - t0
    n_img = max(int(images.shape[0]), 1)
    f = torch.cat(first) if first else torch.zeros(0, hidden.numel())
    c = torch.cat(counts) if counts else torch.zeros(0, hidden.numel(), dtype=torch.int32)
    cf = torch.log1p(c.float())
    feats = {"first": f, "counts": cf, "first+counts": torch.cat([f, cf], 1)}
    diag = {"spikes_per_hidden": float(c.float().mean()) if c.numel() else 0.0,
            "frac_hidden_fired": float((c > 0).float().mean()) if c.numel() else 0.0,
            "discard_fraction": discarded / max(arrivals, 1.0), "events_per_image": arrivals / n_img,
            "events_per_s": arrivals / max(wall, 1e-9), "sim_s": wall}
    return {k: feats[k] for k in readouts}, diag
