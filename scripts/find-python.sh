#!/usr/bin/env bash
# Print the interpreter to build the venv with: Python 3.12 or 3.11 with venv support.
for candidate in python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import ensurepip, venv" >/dev/null 2>&1; then
        echo "$candidate"
        exit 0
    fi
done
echo "no Python 3.11/3.12 with venv found; run scripts/install-system-deps.sh" >&2
exit 1
