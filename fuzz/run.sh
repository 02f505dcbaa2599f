#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one after another, from a corpus
# seeded by seed-corpus.sh, and prints each one's executions and corpus size. Exits non-zero when
# a target crashes: the input is in fuzz/artifacts/<target>/; fix the bug, then keep the input in
# fuzz/regressions/<target>/ (tests/it/fuzz_regressions.rs runs it on every `cargo test`).
#
#   fuzz/run.sh 20            # CI: every target for 20 s, so none can rot
#   fuzz/run.sh 600 spf       # the long run: 10 minutes of one target
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(tls_hello stun spf dmarc federation_metadata endpoint_list saved_report config entra_answers dns_answer graph_answers directory_answers)
fi
./seed-corpus.sh >/dev/null
cargo +nightly fuzz build
status=0
for t in "${targets[@]}"; do
  log=$(mktemp)
  if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "$t: ${runs} executions in ${secs}s, corpus $(find "corpus/$t" -type f | wc -l) inputs"
  else
    echo "$t: CRASHED (see fuzz/artifacts/$t/)"
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | head -5 || true
    status=1
  fi
  rm -f "$log"
done
exit $status
