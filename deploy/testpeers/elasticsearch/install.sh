#!/bin/sh
# install.sh puts the Elasticsearch server that search/elastic's tests start
# into a cache directory and prints that directory's path on its last line.
#
# The server comes from Maven Central through pom.xml beside this script (the
# only place that names the Elasticsearch version): Elastic's integ-test-zip
# distribution, unpacked as it is, plus the hotline-language-analyzers plugin
# compiled here from plugin/src (see the comment in its source for why).
# Running it again is cheap: it does nothing while the directory holds a
# complete copy made from the same pom.xml and plugin source. Concurrent runs
# (go test builds packages in parallel) are safe: each assembles into its own
# temporary directory and the first to finish moves it into place.
#
# Elasticsearch refuses to run as root. When this script runs as root it also
# creates the system user the tests start the server as (hotline-es), if it
# does not exist yet.
#
# Environment:
#   HOTLINE_ELASTICSEARCH_HOME  cache directory (default $HOME/.cache/hotline/elasticsearch-<version>)
#   MVN                         Maven command (default mvn)
#
# Layout of the cache directory:
#   home/      ES_HOME: bin/, lib/, modules/, config/, plugins/hotline-language-analyzers/
#   VERSION    the Elasticsearch version
#   .pom-sum   checksum of the pom.xml and plugin source the copy was made from
#
# Exit status 3 means a tool is missing (java, javac, jar, mvn, useradd); the
# tests skip with this script's message then, unless CI is set.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
pom="$here/pom.xml"
plugin_src="$here/plugin/src"
es_user=hotline-es
version=$(sed -n 's:.*<elasticsearch\.version>\([^<]*\)</elasticsearch\.version>.*:\1:p' "$pom" | head -n 1)
if [ -z "$version" ]; then
	echo "install.sh: no <elasticsearch.version> in $pom" >&2
	exit 1
fi
dir=${HOTLINE_ELASTICSEARCH_HOME:-${HOME:?HOME is not set}/.cache/hotline/elasticsearch-$version}
sum=$({
	cat "$pom"
	find "$plugin_src" -type f | LC_ALL=C sort | while IFS= read -r f; do cat "$f"; done
} | cksum | cut -d ' ' -f 1,2)

missing() {
	echo "install.sh: $*" >&2
	exit 3
}

# The user the tests run the server as when they run as root.
if [ "$(id -u)" -eq 0 ] && ! id "$es_user" >/dev/null 2>&1; then
	command -v useradd >/dev/null 2>&1 ||
		missing "useradd not found (needed to create the $es_user user: Elasticsearch refuses to run as root)"
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "Hotline Elasticsearch test peer" "$es_user"
	echo "install.sh: created system user $es_user to run the Elasticsearch test peer" >&2
fi

if [ -f "$dir/.pom-sum" ] && [ "$(cat "$dir/.pom-sum")" = "$sum" ] && [ -d "$dir/home/lib" ]; then
	echo "$dir"
	exit 0
fi

# Java 17 runs Elasticsearch 8; javac and jar (a JDK, not only a JRE) build
# the analyzers plugin.
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
	javac="$JAVA_HOME/bin/javac"
	jar="$JAVA_HOME/bin/jar"
else
	javac=$(command -v javac || true)
	jar=$(command -v jar || true)
fi
[ -n "$javac" ] && [ -x "$javac" ] ||
	missing "javac not found (a JDK 17 or newer builds the test peer's analyzers plugin; on Debian: apt-get install openjdk-17-jdk-headless)"
[ -n "$jar" ] && [ -x "$jar" ] ||
	missing "jar not found beside javac ($javac)"
mvn=${MVN:-mvn}
command -v "$mvn" >/dev/null 2>&1 ||
	missing "$mvn not found (Maven fetches Elasticsearch from Maven Central; on Debian: apt-get install maven)"

parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "install.sh: fetching Elasticsearch $version from Maven Central into $dir" >&2
"$mvn" -q -B -Dstyle.color=never -f "$pom" dependency:unpack-dependencies \
	-DoutputDirectory="$tmp/unpack" -DmarkersDirectory="$tmp/markers" >&2
if ! [ -f "$tmp/unpack/elasticsearch-$version/lib/elasticsearch-$version.jar" ]; then
	echo "install.sh: Maven did not unpack elasticsearch-$version/lib/elasticsearch-$version.jar into $tmp/unpack" >&2
	exit 1
fi
mv "$tmp/unpack/elasticsearch-$version" "$tmp/home"
rm -rf "$tmp/unpack" "$tmp/markers"
chmod 0755 "$tmp/home/bin"/elasticsearch*
# The tests write their own configuration; the server never reads this one.
# Its logs/ would be the server's default log directory: keep nothing there.
rm -rf "$tmp/home/logs"

echo "install.sh: building the hotline-language-analyzers plugin" >&2
plugin="$tmp/home/plugins/hotline-language-analyzers"
mkdir -p "$tmp/classes" "$plugin"
find "$plugin_src" -name '*.java' -exec "$javac" --release 17 -encoding UTF-8 -nowarn \
	-cp "$tmp/home/lib/*" -d "$tmp/classes" {} + >&2
"$jar" --create --file "$plugin/hotline-language-analyzers.jar" -C "$tmp/classes" . >&2
rm -rf "$tmp/classes"
cat >"$plugin/plugin-descriptor.properties" <<EOF
description=english, french, german and russian analyzers for Hotline's Elasticsearch test peer
version=$version
name=hotline-language-analyzers
classname=hotline.testpeer.elasticsearch.LanguageAnalyzersPlugin
java.version=17
elasticsearch.version=$version
EOF
chmod -R a+rX "$tmp/home"

echo "$version" >"$tmp/VERSION"
echo "$sum" >"$tmp/.pom-sum"
chmod 0755 "$tmp"

# Replace an outdated copy; if another run finished first, keep its copy.
if [ -d "$dir" ] && ! { [ -f "$dir/.pom-sum" ] && [ "$(cat "$dir/.pom-sum")" = "$sum" ]; }; then
	rm -rf "$dir"
fi
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
	if ! [ -f "$dir/.pom-sum" ] || [ "$(cat "$dir/.pom-sum")" != "$sum" ]; then
		echo "install.sh: could not move $tmp to $dir" >&2
		exit 1
	fi
fi
echo "$dir"
