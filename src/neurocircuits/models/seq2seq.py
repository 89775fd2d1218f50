"""A small encoder-decoder Transformer for translation, with greedy decoding.

Token id conventions: ``0`` = padding, ``1`` = beginning of sentence, ``2`` = end of
sentence (see :mod:`neurocircuits.data.translation`).

Example:
    >>> import torch
    >>> m = Seq2SeqTransformer(20, 20, d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
    ...                        dim_feedforward=32)
    >>> src = torch.tensor([[5, 6, 7, 2]])
    >>> m(src, torch.tensor([[1, 5]])).shape
    torch.Size([1, 2, 20])
    >>> greedy_decode(m, src, max_len=6).shape[0]
    1
"""

from __future__ import annotations

import math

import torch
from torch import nn

from neurocircuits.errors import ValidationError

PAD, BOS, EOS = 0, 1, 2


class Seq2SeqTransformer(nn.Module):
    """Token embeddings (scaled by sqrt(d)) + sinusoidal positions, ``nn.Transformer``
    (post-norm, ReLU, as fairseq's ``transformer_iwslt_de_en``) and a linear output
    projection ``generator``."""

    pos: torch.Tensor  # sinusoidal position table (a non-persistent buffer)

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int = 128, nhead: int = 4,
                 num_encoder_layers: int = 3, num_decoder_layers: int = 3, dim_feedforward: int = 512,
                 dropout: float = 0.1, max_len: int = 256) -> None:
        super().__init__()
        if min(src_vocab, tgt_vocab) < 4 or d_model % nhead:
            raise ValidationError(f"need vocabularies >= 4 and d_model divisible by nhead; got {src_vocab}, "
                                  f"{tgt_vocab}, d_model={d_model}, nhead={nhead}")
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=PAD)
        self.register_buffer("pos", _sinusoid(max_len, d_model), persistent=False)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                          dropout, batch_first=True)
        self.transformer.encoder.use_nested_tensor = False  # same numerics in train and eval
        self.generator = nn.Linear(d_model, tgt_vocab)

    def _embed(self, emb: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] > self.pos.shape[0]:
            raise ValidationError(f"sequence of length {tokens.shape[1]} exceeds max_len {self.pos.shape[0]}")
        return emb(tokens) * math.sqrt(self.d_model) + self.pos[: tokens.shape[1]]

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        return self.transformer.encoder(self._embed(self.src_embed, src), src_key_padding_mask=src == PAD)

    def decode(self, memory: torch.Tensor, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        t = tgt_in.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=tgt_in.device).triu(1)
        h = self.transformer.decoder(self._embed(self.tgt_embed, tgt_in), memory, tgt_mask=causal,
                                     tgt_is_causal=True, tgt_key_padding_mask=tgt_in == PAD,
                                     memory_key_padding_mask=src == PAD)
        return self.generator(h)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, tgt_vocab)`` for teacher-forced decoder inputs ``tgt_in`` (BOS first)."""
        return self.decode(self.encode(src), src, tgt_in)


def _sinusoid(n: int, d: int) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe


@torch.no_grad()
def greedy_decode(model: Seq2SeqTransformer, src: torch.Tensor, max_len: int) -> torch.Tensor:
    """Greedy decoding; returns ``(B, <= max_len)`` token ids without BOS (EOS then PAD)."""
    was = model.training
    model.eval()
    memory = model.encode(src)
    out = torch.full((src.shape[0], 1), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        nxt = model.decode(memory, src, out)[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        out = torch.cat([out, nxt[:, None]], 1)
        done |= nxt == EOS
        if bool(done.all()):
            break
    model.train(was)
    return out[:, 1:]
