#!/usr/bin/env bash
# RustSec advisories for the three workspaces (the root, fuzz/ and firmware/, each with its own
# deny.toml), against the live database when it can be fetched, and otherwise against the
# snapshot in the shared test data (`rustsec-advisory-db-YYYYMMDD.tar.gz`). Says which database it
# used and of what date. Skips (and says so, and touches target/deny-advisories.skipped) only
# when neither is to be had.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
skipped=target/deny-advisories.skipped
used=target/deny-advisories.used
mkdir -p target && rm -f "$skipped" "$used"
trees=(. fuzz firmware)

if timeout 120 "$CARGO" deny fetch db >target/deny-fetch.log 2>&1; then
  db=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/advisory-db-* 2>/dev/null | head -n 1)
  date=$(git -C "$db" log -1 --format=%cs 2>/dev/null || echo unknown)
  echo "deny-advisories: the live RustSec database, as of $date"
  for tree in "${trees[@]}"; do
    echo "(cd $tree && $CARGO deny check advisories)"
    (cd "$tree" && "$CARGO" deny check advisories)
  done
  echo "the live RustSec database of $date" >"$used"
  exit 0
fi

echo "deny-advisories: the live RustSec database could not be fetched (it is a git repository on"
echo "  GitHub, and this project's machines and CI reach package registries only); cargo deny said:"
grep -E 'ERROR|fatal' target/deny-fetch.log | sed 's/^/    /' || cat target/deny-fetch.log

# The shared test data sits beside the project's root (../shared/data), or where SHARED_DATA
# says; /work/shared/data is where the project's machines keep it for a checkout elsewhere.
snapshot=
for shared in ${SHARED_DATA:+"$SHARED_DATA"} ../shared/data /work/shared/data; do
  snapshot=$(ls "$shared"/rustsec-advisory-db-*.tar.gz 2>/dev/null | sort | tail -n 1 || true)
  [ -n "$snapshot" ] && break
done
if [ -z "$snapshot" ]; then
  echo "deny-advisories: SKIPPED, no advisory check was done: no snapshot either"
  echo "  (rustsec-advisory-db-*.tar.gz in ../shared/data; set SHARED_DATA to a folder with one)"
  touch "$skipped"
  exit 0
fi
stamp=$(basename "$snapshot" .tar.gz | sed 's/^rustsec-advisory-db-//')
date="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}"
echo "deny-advisories: checking against the snapshot of $date instead ($snapshot):"
echo "  advisories published after $date are not known to this check"

# cargo deny reads a database as a git repository at <db-path>/advisory-db-<hash of its URL>
# (the hash of the default URL, as `cargo deny fetch db` names its clone), and its commit date
# as the database's age: the snapshot is unpacked there as one commit of its date.
root=$PWD/target/advisory-db-snapshot
db=$root/advisory-db-3157b0e258782691
if [ "$(git -C "$db" log -1 --format=%cs 2>/dev/null || true)" != "$date" ]; then
  rm -rf "$root" && mkdir -p "$root"
  tar xzf "$snapshot" -C "$root"
  mv "$root/advisory-db" "$db"
  git -C "$db" init -q
  git -C "$db" add -A
  GIT_AUTHOR_DATE="${date}T00:00:00Z" GIT_COMMITTER_DATE="${date}T00:00:00Z" \
    git -C "$db" -c user.name=snapshot -c user.email=snapshot@invalid \
    commit -q -m "RustSec advisory database, snapshot of $date"
fi
for tree in "${trees[@]}"; do
  # The tree's own rules, reading the snapshot; its metadata made online (crates.io is
  # reachable), as --offline keeps cargo deny from fetching a database it cannot reach.
  config=$PWD/target/deny-offline-$(basename "$(cd "$tree" && pwd)").toml
  metadata=${config%.toml}.json
  sed "s|^\[advisories\]|[advisories]\ndb-path = \"$root\"|" "$tree/deny.toml" >"$config"
  (cd "$tree" && "$CARGO" metadata --format-version 1 >"$metadata")
  echo "(cd $tree && $CARGO deny --offline check advisories) against the snapshot of $date"
  (cd "$tree" && "$CARGO" deny --offline --metadata-path "$metadata" --config "$config" check advisories)
done
echo "the RustSec snapshot of $date (the live database could not be fetched)" >"$used"
