#!/usr/bin/env bash
# Installs what Hotline's test suite needs on a fresh Debian machine, and
# nothing when it is already there: safe to run before every `make test`.
#
# Each test peer owns its installer under deploy/testpeers/<name>/install.sh;
# this script calls the ones that exist. Debian packages listed below are
# installed only when missing, with `apt-get update` first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use directly. Later issues add sipp, chromium, ...
APT_PACKAGES=()

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "install-test-deps: need root (or sudo) to run: $*" >&2
		return 1
	fi
}

# The Kafka test peer runs the broker on Java 17+ and fetches it with Maven.
if [ -e deploy/testpeers/kafka/install.sh ]; then
	command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ] || APT_PACKAGES+=(openjdk-17-jre-headless)
	command -v mvn >/dev/null 2>&1 || APT_PACKAGES+=(maven)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-test-deps: installing ${missing[*]}"
	as_root apt-get update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# Test peers with their own installers (Kafka for the bus/kafka suite).
for peer in deploy/testpeers/*/install.sh; do
	[ -e "$peer" ] || continue
	echo "install-test-deps: $peer"
	bash "$peer"
done
