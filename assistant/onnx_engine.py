"""An int8 ONNX Runtime copy of a materialized model, for faster passage embedding on CPUs.

The transformer is exported once from the verified sentence-transformers folder and its weight matrices
quantized to int8 per output channel (onnxruntime's dynamic quantization). Only the linear layers are
quantized: the two activation-by-activation products of attention stay float, because quantizing the
softmax weights cost accuracy (min cosine 0.977 instead of 0.993 on the seeds). The copy is used only if
its embeddings stay within settings.onnx_min_cosine of the float model's. Tokenization and mean pooling are
done here: the sentence-transformers ONNX backend would need optimum, which pins an older transformers.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .config import Settings
from .errors import ConversionMismatch, ModelUnavailable

ONNX_DIR = "onnx"
INT8_FILE = "model_qint8.onnx"
VERIFIED = "verified.json"


def _require_onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelUnavailable(
            f"The onnx-int8 engine needs onnxruntime, which cannot be imported ({exc}). "
            'Install the project again (pip install -e .) or set engine = "torch".'
        ) from None
    return onnxruntime


def export_int8(model_dir: Path, dest: Path) -> None:
    """Export the BertModel in `model_dir` to ONNX and quantize its linear layers to int8, into `dest`."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class _Hidden(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    dest.mkdir(parents=True)
    float_path = dest / "model_fp32.onnx"
    example = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            _Hidden(model),
            (example, example),
            str(float_path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
    graph = onnx.load(str(float_path), load_external_data=False).graph
    weight_names = {init.name for init in graph.initializer}
    activation_products = [
        node.name for node in graph.node if node.op_type == "MatMul" and not (set(node.input) & weight_names)
    ]
    quantize_dynamic(
        str(float_path),
        str(dest / INT8_FILE),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_exclude=activation_products,
    )
    float_path.unlink()
    for extra in dest.glob("model_fp32.onnx*"):
        extra.unlink()


class OnnxEncoder:
    """Runs an exported model: a tokenizer.json, mean pooling, L2 normalization."""

    def __init__(self, onnx_file: Path, tokenizer_file: Path, threads: int, max_tokens: int = 512):
        ort = _require_onnxruntime()
        from tokenizers import Tokenizer

        if not Path(onnx_file).is_file():
            raise ModelUnavailable(f"No ONNX model at {onnx_file}.")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        pad_id = self._tokenizer.token_to_id("<pad>")
        self._tokenizer.enable_padding(pad_id=1 if pad_id is None else pad_id, pad_token="<pad>")
        self._tokenizer.enable_truncation(max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(0, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed already-prefixed texts as one padded batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def ensure_int8(
    model_dir: Path, settings: Settings, texts: Sequence[str], reference: np.ndarray, progress=None
) -> Path:
    """The folder's int8 ONNX model, exported and checked against `reference` (float embeddings of
    "passage: " + texts) on first use; raises ConversionMismatch when it strays below onnx_min_cosine."""
    from .bundled import compare_embeddings

    _require_onnxruntime()
    dest = Path(model_dir) / ONNX_DIR
    if (dest / VERIFIED).is_file():
        return dest
    say = progress or (lambda _msg: None)
    say("Exporting an int8 ONNX copy of the model (once)...")
    work = Path(tempfile.mkdtemp(prefix=".onnx-", dir=model_dir))
    try:
        staged = work / ONNX_DIR
        export_int8(model_dir, staged)
        encoder = OnnxEncoder(staged / INT8_FILE, Path(model_dir) / "tokenizer.json", settings.threads)
        prefixed = ["passage: " + t for t in texts]
        candidate = np.vstack([encoder.encode(prefixed[i : i + 8]) for i in range(0, len(prefixed), 8)])
        stats = compare_embeddings(reference, candidate)
        if stats["min_cosine"] < settings.onnx_min_cosine:
            raise ConversionMismatch(
                f"The int8 ONNX model strays from the float model: lowest cosine {stats['min_cosine']:.4f} "
                f"over {stats['texts']} texts (needs >= {settings.onnx_min_cosine}). It will not be used."
            )
        (staged / VERIFIED).write_text(json.dumps(stats, indent=2), encoding="utf-8")
        try:
            os.replace(staged, dest)
        except OSError:
            if not (dest / VERIFIED).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
