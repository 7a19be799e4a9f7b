#!/usr/bin/env bash
# One entry point on a fresh machine: installs what the project needs, then
#   bash run.sh          serves the web chat on http://127.0.0.1:7860 (builds index/ from corpus/ first if missing)
#   bash run.sh test     runs the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"

setup() {
    if [ ! -x "$PY" ]; then
        python3 -m venv "$VENV"
    fi
    # Reinstall only when the dependency list changed.
    local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        # torch first, pinned: any other version pulls a multi-GB CUDA build; 2.13.0 is a local CPU wheel.
        "$PY" -m pip install --quiet --disable-pip-version-check torch==2.13.0
        "$PY" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

ensure_chromium() {
    # The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
    if [ ! -x /usr/bin/chromium ]; then
        if [ "$(id -u)" = "0" ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        else
            echo "Chromium is missing: run 'sudo apt-get install -y chromium' first." >&2
            exit 1
        fi
    fi
}

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

case "${1:-chat}" in
    chat)
        setup
        shift || true
        exec "$VENV/bin/assistant" serve "$@"
        ;;
    test)
        setup
        ensure_chromium
        shift || true
        "$PY" -m pytest -q "$@"
        # Answers against their floors on four sets, each beside the overlap baseline: the seed set
        # (evals/floors.json), the held-out report questions written independently of the code
        # (evals/floors_heldout.json), the report development set never trained on (evals/floors_dev.json)
        # and XQuAD-vi dev (evals/floors_xquad.json). A regression fails here.
        tmp_index="$(mktemp -d)"
        trap 'rm -rf "$tmp_index"' EXIT
        "$VENV/bin/assistant" index build --index "$tmp_index" >/dev/null
        "$VENV/bin/assistant" eval evals/seed.jsonl --index "$tmp_index" --out "$tmp_index/reports" \
            --floors evals/floors.json 2>/dev/null
        "$VENV/bin/assistant" eval evals/heldout/report_qa_dev.jsonl --mode hybrid --index "$tmp_index" \
            --out "$tmp_index/reports" --floors evals/floors_heldout.json 2>/dev/null
        "$VENV/bin/assistant" eval evals/report_dev.jsonl --mode hybrid --index "$tmp_index" \
            --out "$tmp_index/reports" --floors evals/floors_dev.json 2>/dev/null
        "$VENV/bin/assistant" eval evals/bench/xquad-vi-dev --index "$tmp_index" --out "$tmp_index/reports" \
            --floors evals/floors_xquad.json 2>/dev/null
        ;;
    *)
        echo "usage: bash run.sh [chat|test]" >&2
        exit 64
        ;;
esac
