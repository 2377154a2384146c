#!/bin/sh
# Install what ignite needs to build, test and run its demo on Debian 12.
# Idempotent and non-interactive: apt-get runs only when a package is missing.
set -eu

PACKAGES="build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
libuv1-dev libmsgpack-dev libsqlite3-dev libsodium-dev libxxhash-dev libcmocka-dev libjansson-dev
zlib1g-dev libsystemd-dev python3 python3-msgpack python3-numpy
python3-sklearn sqlite3 util-linux procps systemd valgrind"
# `deps.sh test`: what only the test suite needs besides (the torch worker
# example's end-to-end test; the DataFrames of python/ignite_client; the
# Prometheus that scrapes the metrics endpoint; the browser the dashboard's
# test drives; a one-node Slurm, slurm-wlm's daemons and clients and MUNGE,
# that tests/slurm starts in a temporary directory).
[ "${1:-}" != test ] || PACKAGES="$PACKAGES python3-torch python3-pandas prometheus chromium
slurmctld slurmd slurm-client munge"
# Node.js and npm build the dashboard's page (web/): Debian's packages, unless
# the machine has its own node and npm already (a newer Node.js whose package
# carries npm would conflict with Debian's npm).
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

# The page's npm packages as web/package-lock.json pins them: uPlot, built
# into ignitectl, and playwright-core, which drives Chromium in the tests.
web="$(dirname "$0")/../web"
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
	[ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
	echo "deps: npm ci in web/"
	(cd "$web" && npm ci --no-audit --no-fund)
fi
