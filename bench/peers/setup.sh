#!/usr/bin/env bash
# Creates the peers' own virtual environments for the side-by-side benchmarks (bench/README.md):
#   /work/peers/litellm  LiteLLM's proxy, `python -m bench.gateway overhead --peer litellm`
#   /work/peers/arq      arq, `python -m bench.throughput` (arq pins an older redis than the
#                        service needs, so it cannot share the project's environment)
# Peer code is installed from PyPI into these venvs only; none of it is committed here. The
# benchmarks and their tests skip a peer whose venv is absent. Usage:
#   bash bench/peers/setup.sh [litellm] [arq]      (both by default; PEERS_DIR overrides /work/peers)
set -euo pipefail

PEERS_DIR="${PEERS_DIR:-/work/peers}"
PYTHON="${PYTHON:-python3}"
# Versions measured in bench/README.md; newer ones should work the same way.
LITELLM_SPEC="${LITELLM_SPEC:-litellm[proxy]}"
ARQ_SPEC="${ARQ_SPEC:-arq}"

make_venv() {  # name, pip requirement...
    local name="$1"; shift
    local venv="$PEERS_DIR/$name"
    if [ ! -x "$venv/bin/python" ]; then
        "$PYTHON" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$@"
    echo "$name: $("$venv/bin/python" -m pip freeze | grep -i -E "^($name)==" || true) in $venv"
}

peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(litellm arq)
mkdir -p "$PEERS_DIR"
for peer in "${peers[@]}"; do
    case "$peer" in
        litellm) make_venv litellm "$LITELLM_SPEC" ;;
        arq) make_venv arq "$ARQ_SPEC" ;;
        *) echo "unknown peer: $peer (litellm, arq)" >&2; exit 2 ;;
    esac
done
