"""Run by ``torchrun --nproc_per_node 2`` in test_loop.py: train under DDP, rank 0 saves the model."""

import sys

import torch
import torch.distributed as dist

from neurocircuits.train import TrainConfig, fit, seeded


def main(out: str, ckpt: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 10, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    with seeded(0):
        model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    cfg = TrainConfig(epochs=3, lr=0.05, optimizer="sgd", batch_size=32)
    hist = fit(model, (x, y), torch.nn.functional.cross_entropy, cfg, seed=3, checkpoint=ckpt)
    if dist.get_rank() == 0:
        torch.save({"state": model.state_dict(), "loss": [h.train_loss for h in hist],
                    "world": dist.get_world_size(), "backend": dist.get_backend()}, out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
