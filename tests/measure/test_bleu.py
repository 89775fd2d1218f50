"""BLEU of a translation model (sacrebleu) and greedy translation."""

import pytest
import torch

pytest.importorskip("sacrebleu")

from neurocircuits.data.translation import Vocab, load_corpus  # noqa: E402
from neurocircuits.errors import ValidationError  # noqa: E402
from neurocircuits.measure.bleu import corpus_bleu, translate, translation_bleu  # noqa: E402
from neurocircuits.models.seq2seq import Seq2SeqTransformer  # noqa: E402


def test_corpus_bleu_bounds_and_reference_value():
    import sacrebleu

    ref = ["the cat sat on the mat today", "a dog ran in the park"]
    assert corpus_bleu(ref, ref) == pytest.approx(100.0)
    assert corpus_bleu(["x y z w"] * 2, ref) == 0.0
    hyp = ["the cat sat on a mat today", "a dog ran in a park"]
    assert corpus_bleu(hyp, ref) == pytest.approx(sacrebleu.corpus_bleu(hyp, [ref]).score)
    assert 0 < corpus_bleu(hyp, ref) < 100
    with pytest.raises(ValidationError):
        corpus_bleu(["a"], ["a", "b"])


def test_translation_bleu_of_a_small_model():
    c = load_corpus("synthetic", n_train=32, n_eval=8, vocab=8, max_len=5)
    sv, tv = Vocab.build([s for s, _ in c.train]), Vocab.build([t for _, t in c.train])
    torch.manual_seed(0)
    m = Seq2SeqTransformer(len(sv), len(tv), d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=32)
    hyps = translate(m, c.val, sv, tv, batch_size=3)
    assert len(hyps) == len(c.val) and all(isinstance(h, str) for h in hyps)
    b = translation_bleu(m, c.val, sv, tv)
    assert 0.0 <= b <= 100.0
    with pytest.raises(ValidationError):
        translate(torch.nn.Linear(2, 2), c.val, sv, tv)
