#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
#
# It installs EdgeQuest into its own virtual environment from what the autograder zip
# carries (unpacked in /autograder/source): a wheel (edgequest-*.whl) or, failing that,
# an EdgeQuest source tree. If the zip holds constraints.txt (exact versions, from
# `pip freeze` where the grades were checked), those versions are installed, so that
# regrading next term runs the same numpy on the same mission files.
#
# AUTOGRADER_ROOT moves /autograder (for testing); SETUP_DRY_RUN=1 prints the commands.
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"

run() {
    if [ "${SETUP_DRY_RUN:-0}" = "1" ]; then
        printf '%s\n' "$*"
    else
        "$@"
    fi
}

shopt -s nullglob
wheels=("$SOURCE"/edgequest-*.whl)
if [ "${#wheels[@]}" -gt 0 ]; then
    package="${wheels[-1]}"
elif [ -f "$SOURCE/pyproject.toml" ]; then
    package="$SOURCE"
else
    echo "setup.sh: no edgequest-*.whl and no EdgeQuest source in $SOURCE; add one to the zip" >&2
    exit 1
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    run apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
run python3 -m venv "$VENV"
constraints=()
if [ -f "$SOURCE/constraints.txt" ]; then
    constraints=(--constraint "$SOURCE/constraints.txt")
fi
run "$VENV/bin/python" -m pip install --upgrade pip
run "$VENV/bin/python" -m pip install "${constraints[@]}" "$package"
run "$VENV/bin/edgequest" missions check
