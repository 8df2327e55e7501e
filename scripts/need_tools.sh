#!/usr/bin/env bash
# The programs a benchmark or drill needs (`make bench-*`, `make chaos`), so that each runs on
# a fresh machine or says exactly what is missing.
#
#   scripts/need_tools.sh [--root WHAT] [--listening HOST:PORT=WHAT]... COMMAND:PACKAGE...
#
# COMMAND is a program name (looked for in PATH, /usr/sbin and /sbin) or an absolute path;
# PACKAGE is the Debian package that provides it. As root, the missing packages are installed
# with apt-get (non-interactive, `apt-get update` first); otherwise the script prints the
# apt-get command to run and exits 1. --root: WHAT needs root, refuse otherwise.
# --listening: a service that must accept TCP connections at HOST:PORT (checked, not
# installed: the benches expect a configured PostgreSQL or Redis there).
set -euo pipefail

PATH="$PATH:/usr/sbin:/sbin"
needs_root=""
listening=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) needs_root=$2; shift 2 ;;
    --listening) listening+=("$2"); shift 2 ;;
    *) break ;;
  esac
done

uid=$(id -u)
if [ -n "$needs_root" ] && [ "$uid" != 0 ]; then
  echo "$needs_root needs root: run it as root (sudo make ...)." >&2
  exit 1
fi

present() {
  case "$1" in
    /*) [ -x "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
packages=()
for spec in "$@"; do
  if [[ "$spec" != *:* || "$spec" == -* || "$spec" == :* || "$spec" == *: ]]; then
    echo "need_tools.sh: expected COMMAND:PACKAGE (options first), got '$spec'" >&2
    exit 2
  fi
  cmd=${spec%%:*}
  package=${spec#*:}
  if ! present "$cmd"; then
    missing+=("$cmd")
    case " ${packages[*]:-} " in
      *" $package "*) ;;
      *) packages+=("$package") ;;
    esac
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$uid" != 0 ]; then
    echo "missing: ${missing[*]}. Install with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${missing[*]} (Debian packages: ${packages[*]}); no apt-get here to install them." >&2
    exit 1
  fi
  echo "missing: ${missing[*]}; installing ${packages[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${packages[@]}"
  for cmd in "${missing[@]}"; do
    if ! present "$cmd"; then
      echo "$cmd is still missing after installing ${packages[*]}." >&2
      exit 1
    fi
  done
fi

for spec in "${listening[@]}"; do
  address=${spec%%=*}
  what=${spec#*=}
  host=${address%:*}
  port=${address##*:}
  if ! timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
    echo "nothing answers on $host:$port: start $what there first." >&2
    exit 1
  fi
done
