# Sourced by the load scripts (status-port-load.sh, search-load.sh): two nodes on loopback, kodit
# (the source) and semas, with development certificates and signing keys, in a private temporary
# directory removed on exit. Expects BIN (where `hanaro` is) and NAME (the directory's prefix).
# Gives: WRK (wrk, at WRK_NICE when set), dir, port(), PK/PS (federation ports), SK/SS (status
# ports), the agencies' files, and node AGENCY DATA_DIR FED_PORT STATUS_PORT [EXTRA_YAML].
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
# WRK_NICE=-15 runs wrk at that nice value (root or CAP_SYS_NICE): on two shared cores the
# client's own wait for a CPU is otherwise counted as the server's latency (a real client calls
# from another machine).
WRK="wrk"
if [ -n "${WRK_NICE:-}" ]; then WRK="nice -n $WRK_NICE wrk"; fi
dir=$(mktemp -d "/tmp/hanaro-$NAME-XXXXXX")
trap 'pkill -f "$dir" 2>/dev/null || true; rm -rf "$dir"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PK=$(port); PS=$(port); SK=$(port); SS=$(port)
$BIN/hanaro certs dev --dir "$dir" >/dev/null
mkdir -p "$dir/agencies" "$dir/kodit"; chmod 700 "$dir/kodit"
for a in kodit:$PK semas:$PS; do
  printf 'id: %s\nfederation:\n  url: https://127.0.0.1:%s\nstale_after: 15m\nsigning_keys: ["%s"]\n' "${a%%:*}" "${a##*:}" \
    "$($BIN/hanaro keys public "$dir/${a%%:*}-signing.key")" > "$dir/agencies/${a%%:*}.yaml"
done
node() { # agency data_dir fed_port status_port [extra yaml]
  printf 'node:\n  agency: %s\n  data_dir: %s\nfederation:\n  listen: 127.0.0.1:%s\n  certificate: %s.pem\n  private_key: %s-key.pem\n  ca: federation-ca.pem\nstatus:\n  listen: 127.0.0.1:%s\n%s' \
    "$1" "$2" "$3" "$1" "$1" "$4" "${5:-}" > "$dir/$1.yaml"
}
