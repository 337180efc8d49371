#!/bin/sh
# Installs the single-file tcpfleet agent as a hardened systemd service:
#
#   ROOT/usr/local/lib/tcpfleet/tcpfleet-agent.mjs     the agent (npm run build writes it)
#   ROOT/usr/local/lib/tcpfleet/sock_diag.node         its optional addon, when built next to it
#   ROOT/etc/systemd/system/tcpfleet-agent.service     the unit (from deploy/systemd/)
#   ROOT/etc/tcpfleet/agent.env                        TCPFLEET_COLLECTOR, the token file path, ...
#   ROOT/etc/tcpfleet/agent.token                      the token, root-only (0600)
#
# Idempotent: a second run with the same arguments changes nothing. An upgrade (run again with
# a newer agent and without --token-file / --collector) keeps the token and the settings.
# Nothing is changed unless every needed argument is there. With ROOT = / (the default) it then
# runs systemctl daemon-reload and enables and (re)starts the service, unless --no-start.
set -eu

usage() {
  cat <<'USAGE'
usage: install.sh --collector ws://HOST:PORT --token-file FILE [options]

  --collector URL     ws:// or wss:// URL of the collector (kept from agent.env on upgrade)
  --token-file FILE   file holding the fleet or per-host token; copied to /etc/tcpfleet/agent.token
                      with mode 0600 (kept on upgrade when not given)
  --host-id ID        name of this host in the fleet (default: its hostname)
  --label k=v         label, repeatable
  --agent FILE        the single-file agent (default: dist/tcpfleet-agent.mjs next to this script)
  --node PATH         Node.js >= 20 to run it with (default: node on PATH)
  --root DIR          install under DIR instead of / (for images and tests; implies --no-start)
  --no-start          do not run systemctl
  -h, --help          this text

examples:
  sudo deploy/install.sh --collector ws://10.0.0.5:7070 --token-file ./fleet.token --label env=prod
  sudo deploy/install.sh --agent ./tcpfleet-agent.mjs     # upgrade: keeps token and settings
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
root=/
collector=
token_file=
host_id=
labels=
agent="$here/../dist/tcpfleet-agent.mjs"
node=
start=yes

need_value() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "install.sh: $1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --collector) need_value "$@"; collector=$2; shift 2 ;;
    --token-file) need_value "$@"; token_file=$2; shift 2 ;;
    --host-id) need_value "$@"; host_id=$2; shift 2 ;;
    --label) need_value "$@"; labels="${labels:+$labels,}$2"; shift 2 ;;
    --agent) need_value "$@"; agent=$2; shift 2 ;;
    --node) need_value "$@"; node=$2; shift 2 ;;
    --root) need_value "$@"; root=$2; start=no; shift 2 ;;
    --no-start) start=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

root=${root%/}
lib="$root/usr/local/lib/tcpfleet"
etc="$root/etc/tcpfleet"
unitdir="$root/etc/systemd/system"
env_file="$etc/agent.env"
token_dst="$etc/agent.token"

# Check everything first; change nothing unless all is well.
problems=
problem() { problems="${problems}  - $1
"; }
[ -d "${root:-/}" ] || problem "--root ${root:-/} is not a directory"
[ -f "$agent" ] || problem "no agent at $agent: run npm run build, or give --agent FILE"
if [ -z "$node" ]; then node=$(command -v node 2>/dev/null || true); fi
if [ -z "$node" ]; then
  problem "no Node.js on PATH: install Node.js 20 or later, or give --node PATH"
elif ! [ -x "$node" ]; then
  problem "--node $node is not an executable"
else
  major=$("$node" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 20 ] 2>/dev/null || problem "$node is Node.js $major; the agent needs 20 or later"
fi
if [ -z "$collector" ]; then
  grep -q '^TCPFLEET_COLLECTOR=' "$env_file" 2>/dev/null || problem "no collector: give --collector ws://HOST:PORT"
else
  case "$collector" in
    ws://?*|wss://?*) ;;
    *) problem "--collector must be a ws:// or wss:// URL such as ws://10.0.0.5:7070, got '$collector'" ;;
  esac
fi
if [ -z "$token_file" ]; then
  [ -s "$token_dst" ] || problem "no token: give --token-file FILE (a file holding the fleet token or this host's token)"
elif ! [ -r "$token_file" ]; then
  problem "--token-file $token_file cannot be read"
elif ! [ -s "$token_file" ] || [ -z "$(tr -d ' \t\r\n' < "$token_file")" ]; then
  problem "--token-file $token_file is empty"
fi
case "$host_id" in *[!A-Za-z0-9._:-]*) problem "--host-id may hold letters, digits and . _ : - only" ;; esac
case "$labels" in *[[:space:]]*) problem "--label values must not contain spaces" ;; esac
if [ -n "$problems" ]; then
  printf 'install.sh: nothing was changed:\n%s(see --help)\n' "$problems" >&2
  exit 2
fi

changed=no
# put SRC DST MODE: replaces DST only when its content or mode differs (atomically, via rename).
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c %a "$2")" = "$3" ]; then return 0; fi
  tmp="$2.tmp.$$"
  cp "$1" "$tmp" && chmod "$3" "$tmp" && mv -f "$tmp" "$2"
  changed=yes
  echo "installed $2"
}

umask 022
mkdir -p "$lib" "$etc" "$unitdir"
chmod 0755 "$lib" "$etc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

put "$agent" "$lib/tcpfleet-agent.mjs" 755
# The optional sock_diag addon (netlink namespace walks, used with CAP_SYS_ADMIN: the drop-in
# tcpfleet-agent-netlink-walks.conf), when npm run build put it next to the agent.
addon="$(dirname "$agent")/sock_diag.node"
if [ -f "$addon" ]; then put "$addon" "$lib/sock_diag.node" 644; fi

sed -e "s#@NODE@#$node#g" -e "s#@AGENT@#/usr/local/lib/tcpfleet/tcpfleet-agent.mjs#g" "$here/systemd/tcpfleet-agent.service" > "$work/unit"
put "$work/unit" "$unitdir/tcpfleet-agent.service" 644

if [ -n "$collector" ] || [ -n "$host_id" ] || [ -n "$labels" ] || ! [ -f "$env_file" ]; then
  # Settings not given again are kept from the current file.
  old() { sed -n "s/^$1=//p" "$env_file" 2>/dev/null | tail -n 1; }
  [ -n "$collector" ] || collector=$(old TCPFLEET_COLLECTOR)
  [ -n "$host_id" ] || host_id=$(old TCPFLEET_HOST_ID)
  [ -n "$labels" ] || labels=$(old TCPFLEET_LABELS)
  {
    echo "# tcpfleet-agent settings, read by tcpfleet-agent.service (EnvironmentFile=). Written by install.sh."
    echo "TCPFLEET_COLLECTOR=$collector"
    echo "# systemd copies /etc/tcpfleet/agent.token (root, 0600) here for the agent (LoadCredential=)."
    echo "TCPFLEET_TOKEN_FILE=/run/credentials/tcpfleet-agent.service/token"
    echo "# Disk spool that survives agent restarts (the unit's StateDirectory=)."
    echo "TCPFLEET_SPOOL_DIR=/var/lib/tcpfleet-agent"
    [ -z "$host_id" ] || echo "TCPFLEET_HOST_ID=$host_id"
    [ -z "$labels" ] || echo "TCPFLEET_LABELS=$labels"
  } > "$work/env"
  put "$work/env" "$env_file" 644
fi

if [ -n "$token_file" ]; then
  tr -d ' \t\r\n' < "$token_file" > "$work/token"
  echo >> "$work/token"
  umask 077
  put "$work/token" "$token_dst" 600
fi

if [ "$start" = yes ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  if [ "$changed" = yes ]; then systemctl enable tcpfleet-agent.service && systemctl restart tcpfleet-agent.service; else systemctl enable --now tcpfleet-agent.service; fi
fi
[ "$changed" = yes ] || echo "tcpfleet-agent is already installed as asked; nothing changed"
