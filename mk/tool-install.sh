#!/usr/bin/env bash
# Builds a cargo tool in the background at the lowest priority, or waits for that build.
#
# cargo-deny and cargo-fuzz take minutes to build on a fresh machine. `make test` starts both
# builds first, so that they use the CPU its other checks leave idle (the integration tests
# mostly wait on sockets and timers), and waits for each where it is needed. Without a build
# started (`make deny` alone), `wait` installs in the foreground.
#
#   mk/tool-install.sh start|wait NAME CHECK -- INSTALL...
#
# CHECK is a command that succeeds when the tool is installed; INSTALL installs it.
set -euo pipefail
action=$1 name=$2 check=$3
shift 3
[ "${1:-}" = -- ] && shift
dir=target/tool-installs
mkdir -p "$dir"
have() { bash -c "$check" >/dev/null 2>&1; }

case $action in
start)
  have && exit 0
  if [ -e "$dir/$name.pid" ] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then exit 0; fi
  rm -f "$dir/$name.rc"
  echo "building $name in the background (log: $dir/$name.log)"
  ( set +e; nice -n 19 "$@" > "$dir/$name.log" 2>&1; echo $? > "$dir/$name.rc" ) > /dev/null 2>&1 &
  echo $! > "$dir/$name.pid"
  ;;
wait)
  if [ -e "$dir/$name.pid" ]; then
    pid=$(cat "$dir/$name.pid")
    if [ ! -e "$dir/$name.rc" ] && kill -0 "$pid" 2>/dev/null; then
      echo "waiting for the background build of $name (log: $dir/$name.log)"
    fi
    while [ ! -e "$dir/$name.rc" ] && kill -0 "$pid" 2>/dev/null; do sleep 2; done
    rm -f "$dir/$name.pid"
  fi
  have && exit 0
  if [ -e "$dir/$name.log" ]; then tail -20 "$dir/$name.log" >&2; fi
  echo "installing $name"
  "$@" || { echo "error: $* failed" >&2; exit 1; }
  ;;
*)
  echo "usage: $0 start|wait NAME CHECK -- INSTALL..." >&2
  exit 2
  ;;
esac
