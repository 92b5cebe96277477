#!/usr/bin/env bash
# Mailing Manager benchmarks (issue 7). Run as root from the repository root:
#
#     bench/run.sh            # every figure
#     bench/run.sh 1 5        # only figures 1 and 5
#     BENCH_QUICK=1 bench/run.sh   # small counts, a smoke run of a few minutes
#
# Builds the figure programs (bench/examples/, release) and the mailing-manager binary, makes
# a Python venv with flufl.bounce (bench/.venv), runs every figure beside its reference IN THE
# SAME RUN, prints the table and writes it, with the machine's description, to
# bench/RESULTS.md. Absolute figures on a shared machine are noisy; the ratios are what count.
#
# Knobs (environment; defaults in brackets):
#   BENCH_RENDER_COUNT [20000]        figure 1: messages of each kind
#   BENCH_SEND_COUNT [100000]         figure 2: recipients per connection count
#   BENCH_CONNECTIONS [1,4,16]        figure 2: connection counts
#   BENCH_POSTFIX_COUNT [5000]        figure 3: recipients per round
#   BENCH_POSTFIX_CONNECTIONS [4]     figure 3: connections/sessions
#   BENCH_POSTFIX_ROUNDS [4]          figure 3: rounds, alternating which side goes first
#   BENCH_RSS_COUNTS [100000,1000000] figure 4: list sizes
#   BENCH_DSN_CORPUS [../shared/dsn-corpus]  figure 5: the corpus (read only)
#   BENCH_DSN_ROUNDS [20]             figure 5: passes over the corpus
#   BENCH_DSN_REPEAT [5]              figure 5: alternating samples of flufl and ours (medians)
#   BENCH_MILTER_COUNT [5000]         figure 6: messages per run
#   BENCH_MILTER_ROUNDS [4]           figure 6: runs with and without the milter each
# Needs: Postfix (smtp-sink, smtp-source, postfix), python3 with venv, taskset — see
# scripts/install-deps.sh.
set -uo pipefail

die() { echo "bench/run.sh: $*" >&2; exit 1; }
[ -f bench/run.sh ] && [ -f Cargo.toml ] || die "run me from the repository root"
[ "$(id -u)" = 0 ] || die "run me as root (a private Postfix's master starts as root)"
for p in /usr/sbin/smtp-sink /usr/sbin/smtp-source /usr/sbin/postfix; do
    [ -x "$p" ] || die "$p is missing (Debian package postfix; scripts/install-deps.sh)"
done
command -v python3 >/dev/null || die "python3 is missing"
command -v taskset >/dev/null || die "taskset is missing (util-linux)"

if [ "${BENCH_QUICK:-}" = 1 ]; then
    : "${BENCH_RENDER_COUNT:=5000}" "${BENCH_SEND_COUNT:=3000}" "${BENCH_POSTFIX_COUNT:=500}"
    : "${BENCH_RSS_COUNTS:=10000,50000}" "${BENCH_DSN_ROUNDS:=5}" "${BENCH_MILTER_COUNT:=500}"
fi
export BENCH_RENDER_COUNT="${BENCH_RENDER_COUNT:-20000}"
export BENCH_SEND_COUNT="${BENCH_SEND_COUNT:-100000}"
export BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-1,4,16}"
export BENCH_POSTFIX_COUNT="${BENCH_POSTFIX_COUNT:-5000}"
export BENCH_POSTFIX_CONNECTIONS="${BENCH_POSTFIX_CONNECTIONS:-4}"
export BENCH_POSTFIX_ROUNDS="${BENCH_POSTFIX_ROUNDS:-4}"
export BENCH_RSS_COUNTS="${BENCH_RSS_COUNTS:-100000,1000000}"
export BENCH_DSN_CORPUS="${BENCH_DSN_CORPUS:-../shared/dsn-corpus}"
export BENCH_DSN_ROUNDS="${BENCH_DSN_ROUNDS:-20}"
export BENCH_DSN_REPEAT="${BENCH_DSN_REPEAT:-5}"
export BENCH_MILTER_COUNT="${BENCH_MILTER_COUNT:-5000}"
export BENCH_MILTER_ROUNDS="${BENCH_MILTER_ROUNDS:-4}"

figures=("$@")
[ ${#figures[@]} -gt 0 ] || figures=(1 2 3 4 5 6)
wants() { local f; for f in "${figures[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }

# The tree the figures were built from (taken before building).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- . ':!bench/RESULTS.md' 2>/dev/null || commit="$commit (with uncommitted changes)"
target_dir="${CARGO_TARGET_DIR:-target}"
echo "== building (release) into $target_dir"
cargo build --release -p mm-bench --examples || die "cargo build -p mm-bench failed"
if wants 5; then
    cargo build --release -p mailing-manager || die "cargo build -p mailing-manager failed"
    venv=bench/.venv
    if ! "$venv/bin/python" -c 'import flufl.bounce' 2>/dev/null; then
        echo "== making $venv with flufl.bounce"
        python3 -m venv "$venv" && "$venv/bin/pip" install -q flufl.bounce \
            || die "could not install flufl.bounce into $venv"
    fi
    export BENCH_PYTHON="$venv/bin/python" BENCH_FLUFL_SCRIPT=bench/flufl_scan.py
    export BENCH_MM_BIN="$target_dir/release/mailing-manager"
fi
ex="$target_dir/release/examples"
if wants 5 && [ ! -d "$BENCH_DSN_CORPUS" ]; then
    echo "bench/run.sh: no bounce corpus at $BENCH_DSN_CORPUS (relative to $(pwd)): figure 5" \
         "will be skipped; set BENCH_DSN_CORPUS to its path" >&2
fi

logdir=$(mktemp -d /tmp/mm-bench.XXXXXX)
results="$logdir/figures.tsv"
: > "$results"
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# run NAME [taskset...] PROGRAM: stdout → FIGURE lines, everything to the log and the terminal.
run() {
    local name=$1; shift
    echo "== figure $name: $*"
    local t0=$SECONDS
    "$@" 2>&1 | tee "$logdir/$name.log" | grep --line-buffered -v '^FIGURE'
    local rc=${PIPESTATUS[0]}
    grep '^FIGURE' "$logdir/$name.log" >> "$results"
    # A program that cannot measure (no corpus, say) says SKIPPED: the table says so too.
    local skipped
    skipped=$(grep -m1 '^SKIPPED:' "$logdir/$name.log" | sed 's/^SKIPPED: *//')
    if [ -n "$skipped" ]; then
        printf 'FIGURE\t%s\tfigure %s not measured: %s\t—\t—\t—\t—\tskipped\n' \
            "$name" "$name" "$skipped" >> "$results"
    fi
    if [ "$rc" != 0 ]; then
        printf 'FIGURE\t%s\tfigure %s: the program failed (exit %s), see %s\t—\t—\t—\t—\tno\n' \
            "$name" "$name" "$rc" "$logdir/$name.log" >> "$results"
    fi
    echo "   ($((SECONDS - t0)) s)"
    write_results
}

write_results() {
    load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    table=$(
        echo "| # | figure | value | reference (same run) | ratio | target | met |"
        echo "|---|---|---:|---:|---:|---|---|"
        while IFS=$'\t' read -r _ id what value ref ratio target met; do
            echo "| $id | $what | $value | $ref | $ratio | $target | $met |"
        done < "$results"
    )
    {
        echo "# Benchmark results"
        echo
        echo "Written by \`bench/run.sh\` (issue 7). Each figure was measured beside its reference in"
        echo "the same run; on a shared, noisy machine the ratio is the figure that counts."
        echo
        echo "- date: $started"
        echo "- git commit: $commit"
        echo "- machine: $(nproc) cores, $cpu, $(awk '/MemTotal/ {printf "%.1f GB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
        echo "- load average (1/5/15 min): $load_start at the start, $load_end at the end"
        echo "- figures run: ${figures[*]}"
        echo "- counts: render $BENCH_RENDER_COUNT msgs; smtp-sink $BENCH_SEND_COUNT recipients at $BENCH_CONNECTIONS connections;" \
             "Postfix $BENCH_POSTFIX_ROUNDS × $BENCH_POSTFIX_COUNT recipients at $BENCH_POSTFIX_CONNECTIONS connections; RSS at $BENCH_RSS_COUNTS recipients;" \
             "dsn corpus × $BENCH_DSN_ROUNDS rounds, $BENCH_DSN_REPEAT alternating samples; milter $BENCH_MILTER_ROUNDS × $BENCH_MILTER_COUNT msgs per Postfix"
        echo
        echo "$table"
        echo
        echo "How each figure is measured: the \`//!\` header of its program in \`bench/examples/\`."
        echo "Rates of figures 1 and 5 are per CPU second on one core (\`taskset -c 0\`); figures 2, 3"
        echo "and 6 are wall-clock rates; figure 4 is the peak resident set (VmHWM) of the process that"
        echo "imports and sends. Where a target is missed, \`bench/PROFILES.md\` says what the profiles"
        echo "show and what to change."
    } > bench/RESULTS.md
}

wants 1 && run 1 taskset -c 0 "$ex/fig1_render" "$BENCH_RENDER_COUNT" 5
wants 2 && run 2 "$ex/fig2_sink"
wants 3 && run 3 "$ex/fig3_postfix"
wants 5 && run 5 taskset -c 0 "$ex/fig5_dsn"
wants 6 && run 6 "$ex/fig6_milter"
# Last: the million-recipient send is the longest.
wants 4 && run 4 "$ex/fig4_rss"

write_results
echo
echo "$table"
echo
echo "written to bench/RESULTS.md (logs in $logdir)"
