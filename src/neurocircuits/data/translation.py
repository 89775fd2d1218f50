"""Parallel corpora for translation: IWSLT14 De-En (local copy) and a synthetic transduction task.

- :func:`iwslt14` reads the tokenized corpus that fairseq's
  ``examples/translation/prepare-iwslt14.sh`` writes (``train.de``, ``train.en``,
  ``valid.*``, ``test.*``; BPE-segmented with ``@@ `` or plain words), from ``path`` or
  from ``<shared data>/iwslt14.tokenized.de-en``. Users who are online run that script
  once; this machine is offline, so the experiment falls back to the synthetic task.
- :func:`synthetic_transduction` is a documented stand-in with the structure of
  translation (a lexicon, many-to-one and one-to-two word correspondences, reordering)
  whose sentences are drawn at random: a word-for-word lexical map of a random
  source vocabulary (one word in eight becomes two target words), then the order of
  the translated words is reversed. The "language" (lexicon) is fixed by
  ``language_seed``; the sentences by ``seed``.

Example:
    >>> c = synthetic_transduction(n_train=20, n_val=5, n_test=5, seed=0)
    >>> len(c.train), c.train[0][0][:2]
    (20, ['s32', 's51'])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import torch

from neurocircuits.data.paths import shared_data_dir
from neurocircuits.errors import CorruptDataError, DataNotFoundError, UnknownNameError, ValidationError
from neurocircuits.base.seed import numpy_rng

Pair = tuple[list[str], list[str]]
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
PAD, BOS, EOS, UNK = 0, 1, 2, 3


@dataclass(frozen=True)
class ParallelCorpus:
    """Tokenised sentence pairs ``(source tokens, target tokens)`` per split."""

    train: list[Pair]
    val: list[Pair]
    test: list[Pair]
    source: str


class Vocab:
    """Token <-> id map with ``<pad>=0, <s>=1, </s>=2, <unk>=3``.

    Example:
        >>> v = Vocab.build([["a", "b", "a"]])
        >>> v.encode(["a", "z"]), v.decode([4, 2, 4])
        ([4, 3], ['a'])
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, sentences: Sequence[Sequence[str]], max_size: int | None = None, min_freq: int = 1) -> "Vocab":
        counts = Counter(t for s in sentences for t in s)
        toks = [t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_freq]
        return cls(toks[:max_size] if max_size else toks)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, UNK) for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Tokens up to the first ``</s>``, skipping padding and ``<s>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.itos[i] if 0 <= i < len(self.itos) else "<unk>")
        return out


def encode_pairs(pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab, max_len: int = 64
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ``(src, tgt_in, tgt_out)`` long tensors: ``src + </s>``, ``<s> + tgt``, ``tgt + </s>``.

    Sentences longer than ``max_len - 1`` tokens are truncated.
    """
    if not pairs:
        raise ValidationError("cannot encode an empty list of sentence pairs")
    n = len(pairs)
    s_len = min(max_len, max(len(s) for s, _ in pairs) + 1)
    t_len = min(max_len, max(len(t) for _, t in pairs) + 1)
    src = torch.full((n, s_len), PAD, dtype=torch.long)
    tin = torch.full((n, t_len), PAD, dtype=torch.long)
    tout = torch.full((n, t_len), PAD, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        si = src_vocab.encode(s)[: s_len - 1] + [EOS]
        ti = tgt_vocab.encode(t)[: t_len - 1]
        src[i, : len(si)] = torch.tensor(si)
        tin[i, : len(ti) + 1] = torch.tensor([BOS] + ti)
        tout[i, : len(ti) + 1] = torch.tensor(ti + [EOS])
    return src, tin, tout


def synthetic_transduction(n_train: int = 20000, n_val: int = 1000, n_test: int = 1000, vocab: int = 60,
                           min_len: int = 4, max_len: int = 12, seed: int = 0, language_seed: int = 12345
                           ) -> ParallelCorpus:
    """Random source sentences and their rule-based "translations" (see the module docstring)."""
    if min(n_train, n_val, n_test) < 1 or vocab < 4 or not 1 <= min_len <= max_len:
        raise ValidationError(f"bad sizes: n=({n_train}, {n_val}, {n_test}), vocab={vocab}, "
                              f"len=[{min_len}, {max_len}]")
    lang = numpy_rng(language_seed)
    perm = lang.permutation(vocab)
    lexicon: dict[str, list[str]] = {}
    for i in range(vocab):
        tgt = [f"t{perm[i]}"]
        if i % 8 == 7:  # one word in eight translates into two words
            tgt.append(f"t{vocab + i}")
        lexicon[f"s{i}"] = tgt
    rng = numpy_rng(seed, 1)
    # Zipf-like word frequencies, as in natural text
    p = 1.0 / (1.0 + lang.permutation(vocab))
    p /= p.sum()

    def sample(n: int) -> list[Pair]:
        out = []
        for _ in range(n):
            words = [f"s{w}" for w in rng.choice(vocab, size=int(rng.integers(min_len, max_len + 1)), p=p)]
            out.append((words, [t for w in reversed(words) for t in lexicon[w]]))
        return out

    return ParallelCorpus(sample(n_train), sample(n_val), sample(n_test),
                          source=f"synthetic transduction (vocab {vocab}, length {min_len}-{max_len}, "
                                 f"language seed {language_seed}, seed {seed})")


def iwslt14(path: str | Path | None = None, max_train: int | None = None) -> ParallelCorpus:
    """IWSLT14 De-En from the folder that fairseq's ``prepare-iwslt14.sh`` writes.

    Raises:
        DataNotFoundError: with how to create the folder, when it is missing.
        CorruptDataError: when source and target files have different line counts.
    """
    root = Path(path) if path is not None else (shared_data_dir(required=False) or Path("shared/data")) \
        / "iwslt14.tokenized.de-en"
    need = [root / f"{s}.{lang}" for s in ("train", "valid", "test") for lang in ("de", "en")]
    missing = [str(p) for p in need if not p.exists()]
    if missing:
        raise DataNotFoundError(
            f"IWSLT14 De-En not found (missing {', '.join(missing)}). Run fairseq's "
            "examples/translation/prepare-iwslt14.sh (needs internet) and pass its output folder as path=, "
            "or place it at <shared data>/iwslt14.tokenized.de-en")
    splits = []
    for s in ("train", "valid", "test"):
        de = (root / f"{s}.de").read_text(encoding="utf-8").splitlines()
        en = (root / f"{s}.en").read_text(encoding="utf-8").splitlines()
        if len(de) != len(en):
            raise CorruptDataError(f"{root}/{s}.de has {len(de)} lines but {s}.en has {len(en)}")
        pairs = [(a.split(), b.split()) for a, b in zip(de, en) if a.strip() and b.strip()]
        if s == "train" and max_train:
            pairs = pairs[:max_train]
        splits.append(pairs)
    return ParallelCorpus(splits[0], splits[1], splits[2], source=str(root))


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens and undo BPE (``"@@ "``), as fairseq's ``--remove-bpe``."""
    return " ".join(tokens).replace("@@ ", "").replace("@@", "")


CorpusName = Literal["auto", "iwslt14", "synthetic"]
CORPORA: tuple[str, ...] = get_args(CorpusName)


def load_corpus(name: CorpusName = "auto", n_train: int = 10000, n_eval: int = 1000, vocab: int = 60,
                max_len: int = 12, seed: int = 0, path: str | Path | None = None) -> ParallelCorpus:
    """A translation corpus: IWSLT14 De-En or the synthetic transduction task.

    ``"iwslt14"`` reads the local copy (:func:`iwslt14`, first ``n_train`` training pairs,
    first ``n_eval`` validation and test pairs); ``"synthetic"`` draws
    :func:`synthetic_transduction` with ``n_train`` / ``n_eval`` / ``n_eval`` pairs of
    ``vocab`` words and up to ``max_len`` words a sentence; ``"auto"`` uses IWSLT14 when it
    is present and the synthetic task otherwise (``corpus.source`` says which).

    Example:
        >>> load_corpus("synthetic", n_train=10, n_eval=3).source.startswith("synthetic")
        True
    """
    if name not in CORPORA:
        raise UnknownNameError("translation corpus", name, CORPORA)
    if name in ("auto", "iwslt14"):
        try:
            c = iwslt14(path, max_train=n_train)
            return ParallelCorpus(c.train, c.val[:n_eval], c.test[:n_eval], c.source)
        except DataNotFoundError:
            if name == "iwslt14":
                raise
    return synthetic_transduction(n_train, n_eval, n_eval, vocab=vocab, max_len=max_len, seed=seed)
