"""BLEU of a translation model: greedy decoding and sacrebleu's corpus BLEU.

:func:`corpus_bleu` scores detokenised hypotheses against references with sacrebleu
(the reference implementation; installed with the ``nlp`` extra). :func:`translation_bleu`
decodes a :class:`~neurocircuits.models.seq2seq.Seq2SeqTransformer` greedily over tokenised
sentence pairs and scores it; BPE markers are removed as fairseq's ``--remove-bpe`` does.

Example:
    >>> round(corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]), 6)
    100.0
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neurocircuits.data.translation import Pair, Vocab, detokenize, encode_pairs
from neurocircuits.errors import MissingDependencyError, ValidationError


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu corpus BLEU (0-100) of detokenised ``hypotheses`` against one reference each."""
    if len(hypotheses) != len(references):
        raise ValidationError(f"need one reference per hypothesis, got {len(hypotheses)} and {len(references)}")
    if not hypotheses:
        raise ValidationError("BLEU needs at least one sentence")
    try:
        import sacrebleu
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError("sacrebleu", "BLEU scoring", "pip install neurocircuits[nlp]") from e
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


@torch.no_grad()
def translate(model: torch.nn.Module, pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab,
              device: torch.device | str | None = None, batch_size: int = 256, max_len: int = 128) -> list[str]:
    """Greedy translations (detokenised strings) of the source sides of ``pairs``.

    Sources are encoded as in training (``max_len`` tokens at most); the decoder may emit
    up to 1.5 x the padded source length + 4 tokens.
    """
    from neurocircuits.models.seq2seq import Seq2SeqTransformer, greedy_decode

    if not isinstance(model, Seq2SeqTransformer):
        raise ValidationError(f"model must be a Seq2SeqTransformer, got {type(model).__name__}")
    if batch_size < 1:
        raise ValidationError(f"batch_size must be >= 1, got {batch_size}")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    src, _, _ = encode_pairs(pairs, src_vocab, tgt_vocab, max_len=max_len)
    hyps: list[str] = []
    for i in range(0, len(pairs), batch_size):
        out = greedy_decode(model, src[i:i + batch_size].to(dev), max_len=int(src.shape[1] * 1.5) + 4)
        hyps += [detokenize(tgt_vocab.decode(row.tolist())) for row in out.cpu()]
    return hyps


def translation_bleu(model: torch.nn.Module, pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab,
                     device: torch.device | str | None = None, batch_size: int = 256, max_len: int = 128) -> float:
    """Corpus BLEU of ``model``'s greedy translations of ``pairs`` (see :func:`translate`)."""
    hyps = translate(model, pairs, src_vocab, tgt_vocab, device, batch_size, max_len)
    return corpus_bleu(hyps, [detokenize(t) for _, t in pairs])
