# Sourced by scripts/test and scripts/demo: makes the pinned Python tools (requirements-dev.txt)
# available from the project's own .venv, installing them on first use or when the pins change,
# and puts .venv/bin first on PATH. Needs only python3 with its standard venv module.

ensure_python_tools() {
    local root venv stamp wanted
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="$root/.venv"
    stamp="$venv/.requirements.sha256"
    wanted="$(sha256sum "$root/requirements-dev.txt" | cut -d' ' -f1)"
    if [ ! -x "$venv/bin/python" ]; then
        echo "==> creating $venv"
        python3 -m venv "$venv"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        echo "==> installing requirements-dev.txt into .venv (moto, ...)"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
        echo "$wanted" > "$stamp"
    fi
    export PATH="$venv/bin:$PATH"
    export MOTO_SERVER="$venv/bin/moto_server"
    if [ ! -x "$MOTO_SERVER" ]; then
        echo "error: $MOTO_SERVER is missing after installing requirements-dev.txt" >&2
        return 1
    fi
}
