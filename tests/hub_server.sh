# Sourced by tests/remote_test.sh and bench/remote.sh: a Hugging Face Hub lookalike served by
# nginx on loopback. Files live at ROOT/ORG/REPO/resolve/REV/FILE and the listing the Hub's tree
# API returns at ROOT/api/models/ORG/REPO/tree/REV.

# hub_publish ROOT DIR REPO [REV] [link]: copy (or, with "link", symlink) a checkpoint into the
# layout and write its listing.
hub_publish() {
  local root=$1 dir=$2 repo=$3 rev=${4:-main} mode=${5:-copy}
  mkdir -p "$root/$repo/resolve/$rev" "$root/api/models/$repo/tree"
  if [ "$mode" = link ]; then
    for f in "$dir"/*; do ln -sf "$(realpath "$f")" "$root/$repo/resolve/$rev/"; done
  else
    cp -a "$dir/." "$root/$repo/resolve/$rev/"
  fi
  # The client sends refs/pr/1 as refs%2Fpr%2F1; nginx decodes it back into three segments.
  python3 - "$root/$repo/resolve/$rev" "$root/api/models/$repo/tree/$rev" <<'PY'
import json, os, sys
d, out = sys.argv[1], sys.argv[2]
entries = []
for name in sorted(os.listdir(d)):
    p = os.path.join(d, name)
    kind = "directory" if os.path.isdir(p) else "file"
    entries.append({"type": kind, "path": name, "size": 0 if kind == "directory" else os.path.getsize(p)})
os.makedirs(os.path.dirname(out), exist_ok=True)
json.dump(entries, open(out, "w"))
PY
}

hub_pick_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# hub_nginx_conf PREFIX SERVERS: the http{} boilerplate around server blocks, with every path
# nginx writes kept under PREFIX (so neither root's directories nor /var/lib/nginx are needed).
hub_nginx_conf() {
  local prefix=$1 servers=$2 user_line=""
  [ "$(id -u)" -eq 0 ] && user_line="user root;"  # workers must read files under /tmp
  mkdir -p "$prefix/nginx-tmp"
  printf '%s\n' "$user_line" \
    "worker_processes 2;" \
    "pid $prefix/nginx.pid;" \
    "error_log $prefix/error.log warn;" \
    "events { worker_connections 256; }" \
    "http {" \
    "  access_log off;" \
    "  default_type application/octet-stream;" \
    "  client_body_temp_path $prefix/nginx-tmp;" \
    "  proxy_temp_path $prefix/nginx-tmp;" \
    "  fastcgi_temp_path $prefix/nginx-tmp;" \
    "  uwsgi_temp_path $prefix/nginx-tmp;" \
    "  scgi_temp_path $prefix/nginx-tmp;" \
    "$servers" \
    "}"
}

# hub_nginx_start PREFIX PORT: starts nginx with PREFIX/nginx.conf and waits for PORT.
hub_nginx_start() {
  local prefix=$1 port=$2 nginx_bin
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  "$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -g "daemon on;" 2>"$prefix/nginx-start.log" \
    || { cat "$prefix/nginx-start.log" >&2; return 1; }
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nginx did not listen on $port" >&2
  return 1
}

hub_nginx_stop() {
  if [ -f "$1/nginx.pid" ]; then kill "$(cat "$1/nginx.pid")" 2>/dev/null; fi
  return 0
}
