#!/usr/bin/env bash
# Builds each fuzz target's seed corpus in fuzz/corpus/<target>/ from the project's own test data
# and, when present, the outside test material in ../shared/external (see its SOURCES.md), plus
# every kept crash input (fuzz/regressions/<target>/). Idempotent; corpus/ is not committed.
set -euo pipefail
cd "$(dirname "$0")"
root=..
ext=${EXTERNAL:-../../shared/external}
c=corpus
mkdir -p $c/{tls_hello,stun,spf,dmarc,federation_metadata,endpoint_list,saved_report,config,entra_answers,dns_answer,graph_answers,directory_answers}

# One file per line of a text source (name = hash, so reruns do not duplicate).
lines() { # target file awk-program
  local t=$1 f=$2 prog=$3
  [[ -e $f ]] || return 0
  awk -F'\t' "$prog" "$f" | while IFS= read -r line; do
    printf '%s' "$line" > "$c/$t/$(printf '%s' "$line" | sha1sum | cut -c1-16)"
  done
}

# TLS: a ServerHello (TLS 1.2, TLS 1.3 with supported_versions) and an alert, as the lab sends.
python3 - "$c/tls_hello" <<'PY'
import sys, struct
d = sys.argv[1]
def rec(ct, body, ver=0x0303): return struct.pack(">BHH", ct, ver, len(body)) + body
def hello(legacy, suite, sv=None):
    ext = b""
    if sv: ext = struct.pack(">HHH", 43, 2, sv)
    b = struct.pack(">H", legacy) + bytes(32) + b"\x00" + struct.pack(">HB", suite, 0) + struct.pack(">H", len(ext)) + ext
    return rec(22, b"\x02" + len(b).to_bytes(3, "big") + b)
open(f"{d}/hello12", "wb").write(hello(0x0303, 0xc02f))
open(f"{d}/hello13", "wb").write(hello(0x0303, 0x1301, 0x0304))
open(f"{d}/alert", "wb").write(rec(21, b"\x02\x46"))
PY

# STUN: pion's captures and fuzz inputs.
if [[ -d $ext/pion-stun/testdata ]]; then
  find "$ext/pion-stun/testdata" -type f ! -name '*.license' ! -name '*.csv' -exec cp {} $c/stun/ \;
fi

# SPF: the RFC 7208 suite's and checkdmarc's records, mail-auth's SPF cases.
lines spf "$ext/checkdmarc/checkdmarc_records.tsv" '$1=="spf"{print $3}'
lines spf "$ext/pyspf/rfc7208-tests.yml" '/(SPF|TXT): *"?v=spf1/{sub(/^[^:]*: */,""); gsub(/^"|"$/,""); print}'
if [[ -d $ext/mail-auth/spf ]]; then
  lines spf <(grep -ho 'v=spf1[^"]*' "$ext"/mail-auth/spf/*.yml) '{print}'
fi
# DMARC: checkdmarc's and mail-auth's record lists.
lines dmarc "$ext/checkdmarc/checkdmarc_records.tsv" '$1=="dmarc"{print $3}'
lines dmarc "$ext/mail-auth/parse_test_records.tsv" '$1=="dmarc"{print $3}'

# Committed seeds (seeds/<target>/): an AD FS-shaped metadata document carrying badssl certificates.
for d in seeds/*/; do
  cp "$d"* "$c/$(basename "$d")/"
done

# Endpoint lists: the embedded copy, the test fixtures (UTF-8 and UTF-16).
cp "$root"/checks/endpoints-worldwide.json $c/endpoint_list/
cp "$root"/tests/fixtures/endpoints-sample.json $c/endpoint_list/
find "$root"/tests/fixtures/external/m365-endpoints -name '*.json' -exec cp {} $c/endpoint_list/ \;

# Saved reports: the offline demo's report when it has been run.
[[ -f $root/target/lab/report.json ]] && cp "$root"/target/lab/report.json $c/saved_report/lab.json

# Config: first byte 0 = tenant.toml, 1 = a check file, 2 = clouds.toml, 3 = responsibilities.toml.
for f in "$root"/examples/*.toml "$root"/tests/fixtures/*.toml; do
  [[ -f $f ]] && { printf '\x00'; cat "$f"; } > "$c/config/tenant-$(basename "$f")"
done
for f in "$root"/checks/*.toml; do
  case $(basename "$f") in
    clouds.toml) p='\x02' ;; responsibilities.toml) p='\x03' ;; messages.toml) continue ;; *) p='\x01' ;;
  esac
  { printf "$p"; cat "$f"; } > "$c/config/checks-$(basename "$f")"
done

# Crash inputs found earlier stay in every corpus.
for d in regressions/*/; do
  find "$d" -type f ! -name .gitkeep -exec cp {} "$c/$(basename "$d")/" \;
done
for t in $c/*/; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
