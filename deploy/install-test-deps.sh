#!/usr/bin/env bash
# Installs what Hotline's test suite needs on a fresh Debian machine, and
# nothing when it is already there: safe to run before every `make test`.
#
# Each test peer owns its installer under deploy/testpeers/<name>/install.sh;
# this script calls the ones that exist. Debian packages listed below are
# installed only when missing, with `apt-get update` first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use directly.
# chromium runs the web UI's browser tests (webui/e2e), driven by
# playwright-core on Node.js, which must be 20 or newer.
# sip-tester (sipp) is the SIP peer of channels/voice's tests; espeak-ng and
# sox generate the voice prompts (channels/voice/media.GeneratePrompt).
APT_PACKAGES=(chromium sip-tester espeak-ng sox)
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

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

# The Kafka and Elasticsearch test peers run on Java 17+ and are fetched
# with Maven; the Elasticsearch peer also compiles a small plugin (javac,
# jar: a JDK).
if [ -e deploy/testpeers/kafka/install.sh ] || [ -e deploy/testpeers/elasticsearch/install.sh ]; then
	command -v javac >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ] || APT_PACKAGES+=(openjdk-17-jdk-headless)
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

# The browser tests' Node packages (playwright-core, no browser download),
# installed again only when the lock file is newer than the install. The UI
# build's output is committed, but webui/ui/web's packages are installed the
# same way: its TypeScript compiles the web app's unit tests (*.test.mjs),
# which webui/ui's TestNodeUnitTests runs.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
	echo "install-test-deps: webui/e2e needs Node.js 20 or newer, found $(node --version)" >&2
	exit 1
fi
if [ ! -e webui/e2e/node_modules/playwright-core/package.json ] ||
	[ webui/e2e/package-lock.json -nt webui/e2e/node_modules/.package-lock.json ]; then
	echo "install-test-deps: npm ci in webui/e2e"
	(cd webui/e2e && npm ci --no-audit --no-fund)
fi
if [ ! -e webui/ui/web/node_modules/typescript/package.json ] ||
	[ webui/ui/web/package-lock.json -nt webui/ui/web/node_modules/.package-lock.json ]; then
	echo "install-test-deps: npm ci in webui/ui/web"
	(cd webui/ui/web && npm ci --no-audit --no-fund)
fi
