#!/usr/bin/env bash
# Stops what a killed test binary left running. The mm-tests harness records every private
# Postfix instance (by config directory) and smtp-sink (by pid) it starts under
# ${MM_TEST_REGISTRY:-${TMPDIR:-/tmp}/mm-tests-running}; a record disappears when the test
# stops the thing itself. Records whose owning test process is gone are stopped here:
# Postfix with `postfix -c DIR stop`, smtp-sink by its recorded pid (after checking that the
# pid still is smtp-sink). Nothing is ever looked up or killed by name.
set -euo pipefail

registry=${MM_TEST_REGISTRY:-${TMPDIR:-/tmp}/mm-tests-running}
[[ -d "$registry" ]] || exit 0

stopped=0
for record in "$registry"/*; do
    [[ -f "$record" ]] || continue
    { read -r kind; read -r target; read -r owner; } < "$record" || continue
    if [[ -n "${owner:-}" ]] && kill -0 "$owner" 2>/dev/null; then
        continue # its test is still running; it will clean up itself
    fi
    case "$kind" in
        postfix)
            if [[ -f "$target/main.cf" ]]; then
                echo "stop-test-leftovers: postfix -c $target stop" >&2
                postfix -c "$target" stop >/dev/null 2>&1 || true
                stopped=$((stopped + 1))
            fi
            ;;
        pid)
            if [[ "$(readlink "/proc/$target/exe" 2>/dev/null || true)" == */smtp-sink ]]; then
                echo "stop-test-leftovers: kill smtp-sink pid $target" >&2
                kill "$target" 2>/dev/null || true
                stopped=$((stopped + 1))
            fi
            ;;
    esac
    rm -f "$record"
done
echo "stop-test-leftovers: stopped $stopped leftover(s)" >&2
