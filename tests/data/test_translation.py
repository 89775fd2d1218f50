"""Parallel-corpus loaders: the synthetic transduction rule and the IWSLT14 folder reader."""

import pytest

from neurocircuits.data.translation import (
    BOS, EOS, PAD, Vocab, detokenize, encode_pairs, iwslt14, synthetic_transduction,
)
from neurocircuits.errors import CorruptDataError, DataNotFoundError, ValidationError


def test_synthetic_rule_is_a_reversed_lexical_map():
    a = synthetic_transduction(200, 10, 10, vocab=16, seed=0)
    b = synthetic_transduction(200, 10, 10, vocab=16, seed=1)
    lex = {}
    for src, tgt in a.train + b.train:
        # rebuild the lexicon from aligned pairs: reversed source, word 7 mod 8 -> two words
        out = []
        for w in reversed(src):
            k = 2 if int(w[1:]) % 8 == 7 else 1
            lex.setdefault(w, tgt[len(out):len(out) + k])
            assert lex[w] == tgt[len(out):len(out) + k]  # the same "language" for every seed
            out += lex[w]
        assert out == tgt
    assert a.train != b.train  # different sentences
    assert len({tuple(v) for v in lex.values()}) == len(lex)  # a one-to-one lexicon
    with pytest.raises(ValidationError):
        synthetic_transduction(0, 1, 1)


def test_vocab_and_encoding():
    pairs = [(["a", "b"], ["x"]), (["b"], ["y", "x", "z"])]
    sv, tv = Vocab.build([s for s, _ in pairs]), Vocab.build([t for _, t in pairs])
    src, tin, tout = encode_pairs(pairs, sv, tv)
    assert src.shape == (2, 3) and tin.shape == (2, 4)
    assert src[1].tolist() == [sv.stoi["b"], EOS, PAD]
    assert tin[0].tolist() == [BOS, tv.stoi["x"], PAD, PAD] and tout[0].tolist() == [tv.stoi["x"], EOS, PAD, PAD]
    assert tv.decode(tout[1].tolist()) == ["y", "x", "z"]
    assert detokenize(["ge@@", "hen", "wir"]) == "gehen wir"
    with pytest.raises(ValidationError):
        encode_pairs([], sv, tv)


def test_iwslt14_reader(tmp_path):
    with pytest.raises(DataNotFoundError, match="prepare-iwslt14"):
        iwslt14(tmp_path)
    for s in ("train", "valid", "test"):
        (tmp_path / f"{s}.de").write_text("wir gehen\nja\n")
        (tmp_path / f"{s}.en").write_text("we go\nyes\n")
    c = iwslt14(tmp_path)
    assert c.train[0] == (["wir", "gehen"], ["we", "go"]) and len(c.test) == 2
    (tmp_path / "test.en").write_text("we go\n")
    with pytest.raises(CorruptDataError):
        iwslt14(tmp_path)


def test_load_corpus_auto_falls_back_and_names_are_checked(tmp_path):
    from neurocircuits.data.translation import load_corpus
    from neurocircuits.errors import DataNotFoundError, UnknownNameError

    c = load_corpus("auto", n_train=20, n_eval=4, vocab=10, max_len=6, path=tmp_path)
    assert c.source.startswith("synthetic") and (len(c.train), len(c.val), len(c.test)) == (20, 4, 4)
    with pytest.raises(DataNotFoundError):
        load_corpus("iwslt14", path=tmp_path)
    with pytest.raises(UnknownNameError):
        load_corpus("wmt")  # type: ignore[arg-type]
    d = tmp_path / "iw"
    d.mkdir()
    for s in ("train", "valid", "test"):
        (d / f"{s}.de").write_text("ein haus\nzwei\n")
        (d / f"{s}.en").write_text("a house\ntwo\n")
    c = load_corpus("auto", n_train=1, n_eval=1, path=d)
    assert c.train == [(["ein", "haus"], ["a", "house"])] and len(c.val) == 1
