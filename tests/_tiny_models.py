# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Tiny random ``transformers`` classifiers, built offline for the tests.

Every builder writes a randomly initialised model and its tokenizer into a
folder, from a small config and a vocabulary written in code (no network, no
Hugging Face Hub), so that ``AutoModelFor*.from_pretrained(path,
local_files_only=True)`` and ``AutoTokenizer.from_pretrained(path)`` load them
like any real checkpoint. The models have 2 layers, hidden size 16 and
``num_labels`` labels named ``"neg"``, ``"neu"``, ``"pos"``, ... in
``id2label`` order.

Use :func:`save_tiny_model` for one family, or :data:`FAMILIES` to loop over
all of them::

    from _tiny_models import FAMILIES, save_tiny_model  # tests/ is on sys.path

    path = save_tiny_model("bert", tmp_path / "bert")                  # sequence
    path = save_tiny_model("llama", tmp_path / "llama", task="token")  # token

Families (``config.model_type``): :data:`ENCODERS` ``"bert"``,
``"distilbert"``, ``"roberta"``, ``"electra"``, ``"xlm-roberta"``,
``"camembert"``, ``"deberta-v2"`` (DeBERTa-v3 settings), ``"albert"``,
``"mpnet"``, ``"modernbert"`` and :data:`DECODERS` ``"gpt2"``, ``"llama"``,
``"qwen2"``, ``"mistral"``, ``"gemma"``, ``"phi3"``, ``"qwen3"``. Each has its
own tokenizer class, except Mistral and Phi-3, which use Llama's (as the real
ones do), and ModernBERT, whose real tokenizer is a plain
``PreTrainedTokenizerFast`` (byte-level BPE with ``[CLS]``/``[SEP]``). GPT-2,
Llama, Qwen, Mistral and Phi-3 tokenizers have no pad token, like the real
ones; Gemma's has ``<pad>`` (id 0, also ``config.pad_token_id``).
"""

import string

ENCODERS = (
    "bert",
    "distilbert",
    "roberta",
    "electra",
    "xlm-roberta",
    "camembert",
    "deberta-v2",
    "albert",
    "mpnet",
    "modernbert",
)
DECODERS = ("gpt2", "llama", "qwen2", "mistral", "gemma", "phi3", "qwen3")
FAMILIES = ENCODERS + DECODERS
LABEL_NAMES = ("neg", "neu", "pos", "mixed", "other")

#: Words that tokenize to one token with the WordPiece vocabulary; other words
#: split into letters (``"##x"`` continuation pieces), so word lists exercise
#: the first-sub-token logic.
WORDS = (
    "the a an and or but not is was it this that movie film good bad great "
    "awful plot actor story funny boring i you we they of to in on with"
).split()

#: A few sentences of different lengths, handy for tests.
TEXTS = [
    "the movie was good",
    "a boring film , but the actor was great !",
    "bad",
    "it is not funny and the plot was awful , awful , awful .",
    "We loved it",
    "",
    "zebras quietly juggle xylophones",
]

_MAX_POSITIONS = 64


def _labels(num_labels):
    if num_labels > len(LABEL_NAMES):
        names = [f"label_{i}" for i in range(num_labels)]
    else:
        names = list(LABEL_NAMES[:num_labels])
    id2label = dict(enumerate(names))
    return id2label, {v: k for k, v in id2label.items()}


def _wordpiece_vocab(specials=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")):
    chars = string.ascii_lowercase + string.digits + string.punctuation
    tokens = list(specials)
    tokens += list(chars) + ["##" + c for c in chars] + list(WORDS)
    return {t: i for i, t in enumerate(dict.fromkeys(tokens))}


def _bytes_to_unicode():
    # GPT-2's reversible byte -> printable character map.
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _byte_bpe(specials):
    """Byte-level BPE vocabulary (every byte) plus a few merges."""
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("o", "o"), ("Ġ", "m")]
    tokens = list(specials) + _bytes_to_unicode()
    tokens += ["".join(m) for m in merges]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    return vocab, merges


def _sentencepiece_bpe(specials=("<unk>", "<s>", "</s>")):
    """Llama-style BPE: metaspace words, letters, byte fallback."""
    tokens = list(specials)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    tokens += ["▁"] + list(string.ascii_letters + string.digits + string.punctuation)
    merges = [("▁", "t"), ("h", "e"), ("▁t", "he"), ("▁", "a")]
    tokens += ["".join(m) for m in merges]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    return vocab, merges


#: special pieces of the sentencepiece (Unigram) vocabularies, in the real
#: models' order (XLM-R, CamemBERT, DeBERTa-v3, ALBERT)
_UNIGRAM_SPECIALS = {
    "xlm-roberta": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    "camembert": [
        "<s>NOTUSED",
        "<pad>",
        "</s>NOTUSED",
        "<unk>",
        "<unk>NOTUSED",
        "<s>",
        "</s>",
        "<mask>",
    ],
    "deberta-v2": ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"],
    "albert": ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"],
}
_MPNET_SPECIALS = ("<s>", "<pad>", "</s>", "[UNK]", "<mask>")
_MODERNBERT_SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
_GEMMA_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")


def _unigram_vocab(family):
    """Sentencepiece Unigram vocabulary: ``(piece, log-probability)`` pairs.

    The words of :data:`WORDS` are single ``"\u2581word"`` pieces; other
    words split into letters.
    """
    specials = _UNIGRAM_SPECIALS[family]
    vocab = [(t, -100.0 if t == "<unk>NOTUSED" else 0.0) for t in specials]
    vocab += [("\u2581" + w, -2.0) for w in WORDS]
    vocab += [("\u2581", -3.0)]
    chars = string.ascii_letters + string.digits + string.punctuation
    vocab += [("\u2581" + c, -4.0) for c in chars]
    vocab += [(c, -5.0) for c in chars]
    seen = set()
    return [(t, p) for t, p in vocab if not (t in seen or seen.add(t))]


def _modernbert_tokenizer(cls):
    """ModernBERT's tokenizer: byte-level BPE, ``[CLS] text [SEP]``.

    The real one is a plain ``PreTrainedTokenizerFast`` (``TokenizersBackend``
    in transformers 5) over such a ``tokenizers`` pipeline.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    vocab, merges = _byte_bpe(_MODERNBERT_SPECIALS)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return cls(
        tokenizer_object=backend,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=_MAX_POSITIONS,
        # as the real tokenizer_config.json: ModernBERT takes no token types
        model_input_names=["input_ids", "attention_mask"],
    )


def build_tokenizer(family):
    """Build the tokenizer of a tiny model of ``family`` (no download).

    transformers 5 builds tokenizers from an in-memory vocabulary; on
    transformers 4 the same vocabulary is written to files in a temporary
    folder and read by the ``*TokenizerFast`` classes (see
    :func:`_build_tokenizer_v4`).

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.

    Returns
    -------
    tokenizer : transformers.PreTrainedTokenizerBase
        A fast tokenizer with ``model_max_length=64``.
    """
    import transformers as tf

    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}.")
    if int(tf.__version__.split(".")[0]) < 5:
        return _build_tokenizer_v4(family)
    common = {"model_max_length": _MAX_POSITIONS}
    if family in ("bert", "electra"):
        return tf.BertTokenizer(vocab=_wordpiece_vocab(), **common)
    if family == "distilbert":
        return tf.DistilBertTokenizer(vocab=_wordpiece_vocab(), **common)
    if family == "roberta":
        vocab, merges = _byte_bpe(_ROBERTA_SPECIALS)
        return tf.RobertaTokenizer(vocab=vocab, merges=merges, **common)
    if family == "gpt2":
        vocab, merges = _byte_bpe(["<|endoftext|>"])
        return tf.GPT2Tokenizer(vocab=vocab, merges=merges, **common)
    if family == "qwen2":
        vocab, merges = _byte_bpe(["<|endoftext|>"])
        return tf.Qwen2Tokenizer(
            vocab=vocab, merges=merges, **_QWEN2_SPECIALS, **common
        )
    if family == "qwen3":
        vocab, merges = _byte_bpe(["<|endoftext|>"])
        return tf.Qwen2Tokenizer(
            vocab=vocab, merges=merges, **_QWEN2_SPECIALS, **common
        )
    if family in _UNIGRAM_SPECIALS:
        cls = {
            "xlm-roberta": tf.XLMRobertaTokenizer,
            "camembert": tf.CamembertTokenizer,
            "deberta-v2": tf.DebertaV2Tokenizer,
            "albert": tf.AlbertTokenizer,
        }[family]
        return cls(vocab=_unigram_vocab(family), **common)
    if family == "mpnet":
        return tf.MPNetTokenizer(vocab=_wordpiece_vocab(_MPNET_SPECIALS), **common)
    if family == "modernbert":
        return _modernbert_tokenizer(tf.PreTrainedTokenizerFast)
    if family == "gemma":
        vocab, merges = _sentencepiece_bpe(_GEMMA_SPECIALS)
        return tf.GemmaTokenizer(
            vocab=vocab, merges=merges, add_bos_token=True, **common
        )
    # llama, and mistral and phi3, whose real tokenizers are Llama's
    vocab, merges = _sentencepiece_bpe()
    return tf.LlamaTokenizer(vocab=vocab, merges=merges, **common)


_ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
_QWEN2_SPECIALS = {
    "unk_token": None,
    "bos_token": None,
    "eos_token": "<|endoftext|>",
    "pad_token": None,
}


def _build_tokenizer_v4(family):
    """transformers 4: the same tokenizers, read from files written here."""
    import json
    import os
    import tempfile

    import transformers as tf

    common = {"model_max_length": _MAX_POSITIONS}
    with tempfile.TemporaryDirectory() as folder:
        vocab_file = os.path.join(folder, "vocab")
        merges_file = os.path.join(folder, "merges.txt")

        def write_bpe(vocab, merges):
            with open(vocab_file, "w", encoding="utf-8") as f:
                json.dump(vocab, f)
            with open(merges_file, "w", encoding="utf-8") as f:
                f.write("#version: 0.2\n")
                f.writelines(f"{a} {b}\n" for a, b in merges)
            return {"vocab_file": vocab_file, "merges_file": merges_file}

        if family in ("bert", "electra", "distilbert"):
            with open(vocab_file, "w", encoding="utf-8") as f:
                f.writelines(f"{t}\n" for t in _wordpiece_vocab())
            cls = tf.DistilBertTokenizerFast if family == "distilbert" else None
            cls = cls or tf.BertTokenizerFast
            return cls(vocab_file=vocab_file, **common)
        if family == "roberta":
            files = write_bpe(*_byte_bpe(_ROBERTA_SPECIALS))
            return tf.RobertaTokenizerFast(**files, **common)
        if family == "gpt2":
            files = write_bpe(*_byte_bpe(["<|endoftext|>"]))
            return tf.GPT2TokenizerFast(**files, **common)
        if family in ("qwen2", "qwen3"):
            files = write_bpe(*_byte_bpe(["<|endoftext|>"]))
            return tf.Qwen2TokenizerFast(**files, **_QWEN2_SPECIALS, **common)
        if family == "mpnet":
            with open(vocab_file, "w", encoding="utf-8") as f:
                f.writelines(f"{t}\n" for t in _wordpiece_vocab(_MPNET_SPECIALS))
            return tf.MPNetTokenizerFast(vocab_file=vocab_file, **common)
    if family in _UNIGRAM_SPECIALS:
        return _unigram_tokenizer_v4(family)
    if family == "modernbert":
        return _modernbert_tokenizer(tf.PreTrainedTokenizerFast)
    # llama (mistral, phi3) and gemma: the backends transformers 5 builds
    # (metaspace, byte fallback)
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    if family == "gemma":
        vocab, merges = _sentencepiece_bpe(_GEMMA_SPECIALS)
        backend = Tokenizer(
            models.BPE(
                vocab=vocab,
                merges=merges,
                fuse_unk=True,
                unk_token="<unk>",
                byte_fallback=True,
            )
        )
        backend.normalizer = normalizers.Replace(" ", "\u2581")
        backend.decoder = decoders.Sequence(
            [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
        )
        return tf.GemmaTokenizerFast(
            tokenizer_object=backend,
            unk_token="<unk>",
            bos_token="<bos>",
            eos_token="<eos>",
            pad_token="<pad>",
            mask_token="<mask>",
            **common,
        )
    vocab, merges = _sentencepiece_bpe()
    backend = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, fuse_unk=True, byte_fallback=True)
    )
    backend.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="\u2581", prepend_scheme="first", split=False
    )
    backend.decoder = decoders.Sequence(
        [
            decoders.Replace("\u2581", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    return tf.LlamaTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        add_bos_token=False,
        add_eos_token=False,
        **common,
    )


def _unigram_tokenizer_v4(family):
    """transformers 4: the sentencepiece tokenizers transformers 5 builds.

    Their ``*TokenizerFast`` classes need a sentencepiece model file; they
    are given instead the ``tokenizers`` pipeline that transformers 5's
    classes build from the same vocabulary (normaliser, metaspace
    pre-tokenizer, special-token template).
    """
    import transformers as tf
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = _unigram_vocab(family)
    ids = {t: i for i, (t, _) in enumerate(vocab)}
    specials = {
        "xlm-roberta": dict(bos="<s>", eos="</s>", unk="<unk>", pad="<pad>"),
        "camembert": dict(bos="<s>", eos="</s>", unk="<unk>", pad="<pad>"),
        "deberta-v2": dict(bos="[CLS]", eos="[SEP]", unk="[UNK]", pad="[PAD]"),
        "albert": dict(bos="[CLS]", eos="[SEP]", unk="<unk>", pad="<pad>"),
    }[family]
    bos, eos = specials["bos"], specials["eos"]
    backend = Tokenizer(models.Unigram(vocab, unk_id=ids[specials["unk"]]))
    metaspace = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    if family == "deberta-v2":
        backend.normalizer = normalizers.Sequence(
            [
                normalizers.Replace(Regex(r"\s{2,}|[\n\r\t]"), " "),
                normalizers.NFC(),
                normalizers.Strip(left=False, right=True),
            ]
        )
        backend.pre_tokenizer = pre_tokenizers.Sequence([metaspace])
        template = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0 {eos}:0",
            pair=f"{bos}:0 $A:0 {eos}:0 $B:1 {eos}:1",
            special_tokens=[(bos, ids[bos]), (eos, ids[eos])],
        )
    else:
        if family == "albert":
            backend.normalizer = normalizers.Sequence(
                [
                    normalizers.Replace("``", '"'),
                    normalizers.Replace("''", '"'),
                    normalizers.NFKD(),
                    normalizers.StripAccents(),
                    normalizers.Lowercase(),
                ]
            )
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), metaspace]
        )
        pair = (
            f"{bos}:0 $A:0 {eos}:0 $B:1 {eos}:1"
            if family == "albert"
            else f"{bos} $A {eos} {eos} $B {eos}"
        )
        template = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0 {eos}:0" if family == "albert" else f"{bos} $A {eos}",
            pair=pair,
            special_tokens=[(bos, ids[bos]), (eos, ids[eos])],
        )
    backend.post_processor = template
    backend.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    cls = {
        "xlm-roberta": tf.XLMRobertaTokenizerFast,
        "camembert": tf.CamembertTokenizerFast,
        "deberta-v2": tf.DebertaV2TokenizerFast,
        "albert": tf.AlbertTokenizerFast,
    }[family]
    return cls(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=specials["unk"],
        pad_token=specials["pad"],
        mask_token=_UNIGRAM_SPECIALS[family][-1],
        model_max_length=_MAX_POSITIONS,
    )


def recased_tokenizer(tokenizer):
    """A copy of a BERT-family tokenizer with the opposite lower-casing.

    Works on transformers 4 and 5, and survives ``save_pretrained`` /
    ``AutoTokenizer.from_pretrained`` (the ``do_lower_case`` saved with it
    matches its normalizer).

    Parameters
    ----------
    tokenizer : transformers.PreTrainedTokenizerBase
        A fast tokenizer with a ``BertNormalizer``.

    Returns
    -------
    tokenizer : transformers.PreTrainedTokenizerBase
    """
    import copy
    import json

    from tokenizers import normalizers

    tok = copy.deepcopy(tokenizer)
    state = json.loads(tok.backend_tokenizer.to_str())["normalizer"]
    if state.pop("type") != "BertNormalizer":
        raise ValueError("recased_tokenizer needs a BertNormalizer.")
    state["lowercase"] = not state["lowercase"]
    tok.backend_tokenizer.normalizer = normalizers.BertNormalizer(**state)
    tok.do_lower_case = state["lowercase"]
    tok.init_kwargs["do_lower_case"] = state["lowercase"]
    return tok


def build_config(family, vocab_size, num_labels=3, **overrides):
    """Config of a 2-layer, hidden-size-16 model of ``family``.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    vocab_size : int
        Size of the tokenizer's vocabulary.
    num_labels : int, default=3
        Number of output labels (``id2label`` = neg, neu, pos, ...).
    **overrides
        Extra config attributes.

    Returns
    -------
    config : transformers.PretrainedConfig
    """
    import transformers as tf

    id2label, label2id = _labels(num_labels)
    labels = {"id2label": id2label, "label2id": label2id}
    bert_like = {
        "vocab_size": vocab_size,
        "hidden_size": 16,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": _MAX_POSITIONS,
    }
    llama_like = {
        "vocab_size": vocab_size,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "max_position_embeddings": _MAX_POSITIONS,
    }
    if family == "bert":
        cfg = tf.BertConfig(**bert_like, pad_token_id=0, **labels)
    elif family == "electra":
        cfg = tf.ElectraConfig(**bert_like, embedding_size=8, pad_token_id=0, **labels)
    elif family == "distilbert":
        cfg = tf.DistilBertConfig(
            vocab_size=vocab_size,
            dim=16,
            n_layers=2,
            n_heads=2,
            hidden_dim=32,
            max_position_embeddings=_MAX_POSITIONS,
            pad_token_id=0,
            **labels,
        )
    elif family == "roberta":
        cfg = tf.RobertaConfig(
            **{**bert_like, "max_position_embeddings": _MAX_POSITIONS + 2},
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            **labels,
        )
    elif family in ("xlm-roberta", "camembert", "mpnet"):
        # RoBERTa-style positions, numbered from pad_token_id + 1
        cls = {
            "xlm-roberta": tf.XLMRobertaConfig,
            "camembert": tf.CamembertConfig,
            "mpnet": tf.MPNetConfig,
        }[family]
        cfg = cls(
            **{**bert_like, "max_position_embeddings": _MAX_POSITIONS + 2},
            pad_token_id=1,
            bos_token_id=5 if family == "camembert" else 0,
            eos_token_id=6 if family == "camembert" else 2,
            **labels,
        )
    elif family == "deberta-v2":
        # DeBERTa-v3's settings: relative attention only, no absolute positions
        cfg = tf.DebertaV2Config(
            **bert_like,
            relative_attention=True,
            position_biased_input=False,
            pos_att_type=["p2c", "c2p"],
            max_relative_positions=-1,
            position_buckets=8,
            norm_rel_ebd="layer_norm",
            share_att_key=True,
            type_vocab_size=0,
            pad_token_id=0,
            **labels,
        )
    elif family == "albert":
        cfg = tf.AlbertConfig(
            **bert_like,
            embedding_size=8,
            pad_token_id=0,
            bos_token_id=2,
            eos_token_id=3,
            **labels,
        )
    elif family == "modernbert":
        # a local attention window (8 tokens) shorter than the longer texts,
        # mean pooling as ModernBERT-base's config (the default is "cls")
        cfg = tf.ModernBertConfig(
            vocab_size=vocab_size,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=_MAX_POSITIONS,
            global_attn_every_n_layers=2,
            local_attention=8,
            classifier_pooling="mean",
            pad_token_id=3,
            bos_token_id=1,
            eos_token_id=2,
            cls_token_id=1,
            sep_token_id=2,
            **labels,
        )
    elif family == "gpt2":
        cfg = tf.GPT2Config(
            vocab_size=vocab_size,
            n_embd=16,
            n_layer=2,
            n_head=2,
            n_positions=_MAX_POSITIONS,
            bos_token_id=0,
            eos_token_id=0,
            **labels,
        )
    elif family == "llama":
        cfg = tf.LlamaConfig(**llama_like, bos_token_id=1, eos_token_id=2, **labels)
    elif family == "qwen2":
        cfg = tf.Qwen2Config(**llama_like, bos_token_id=None, eos_token_id=0, **labels)
    elif family == "qwen3":
        cfg = tf.Qwen3Config(
            **llama_like, head_dim=8, bos_token_id=None, eos_token_id=0, **labels
        )
    elif family == "mistral":
        cfg = tf.MistralConfig(**llama_like, bos_token_id=1, eos_token_id=2, **labels)
    elif family == "phi3":
        cfg = tf.Phi3Config(
            **llama_like,
            bos_token_id=1,
            eos_token_id=2,
            pad_token_id=None,
            **labels,
        )
    elif family == "gemma":
        cfg = tf.GemmaConfig(
            **llama_like,
            head_dim=8,
            pad_token_id=0,
            eos_token_id=1,
            bos_token_id=2,
            **labels,
        )
    else:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}.")
    # larger random weights than the default 0.02, so that logits are O(1)
    # and numerical comparisons in the tests are meaningful
    cfg.initializer_range = 0.3
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


def build_tiny_model(family, task="sequence", num_labels=3, seed=0):
    """Build a random tiny classifier and its tokenizer in memory.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    task : {"sequence", "token"}, default="sequence"
        ``AutoModelForSequenceClassification`` or
        ``AutoModelForTokenClassification``.
    num_labels : int, default=3
        Number of labels.
    seed : int, default=0
        Seed of the random initialisation (``torch.manual_seed``).

    Returns
    -------
    model : transformers.PreTrainedModel
        In eval mode, float32, on the CPU.
    tokenizer : transformers.PreTrainedTokenizerBase
    """
    import torch
    import transformers as tf

    tokenizer = build_tokenizer(family)
    config = build_config(family, len(tokenizer), num_labels=num_labels)
    auto = {
        "sequence": tf.AutoModelForSequenceClassification,
        "token": tf.AutoModelForTokenClassification,
    }[task]
    torch.manual_seed(seed)
    model = auto.from_config(config).eval()
    # random-init biases are zero: make them non-zero so that tests of
    # ``embedding @ W.T + b`` check the bias too
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and module.bias is not None:
                module.bias.normal_(0.0, 0.1)
    return model, tokenizer


def save_tiny_model(family, path, task="sequence", num_labels=3, seed=0):
    """Build a tiny classifier of ``family`` and save it with its tokenizer.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    path : str or path-like
        Folder to write (created if missing).
    task : {"sequence", "token"}, default="sequence"
        Sequence or token classification.
    num_labels : int, default=3
        Number of labels.
    seed : int, default=0
        Seed of the random weights.

    Returns
    -------
    path : str
        The folder, loadable with ``from_pretrained(path, local_files_only=True)``.
    """
    import os

    model, tokenizer = build_tiny_model(family, task, num_labels=num_labels, seed=seed)
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
