#!/bin/sh
# install.sh puts the Apache Kafka broker that bus/kafka's tests start into a
# cache directory and prints that directory's path on its last line.
#
# The broker's jars come from Maven Central through pom.xml beside this
# script (the only place that names the Kafka version). Running it again is
# cheap: it does nothing while the directory holds a complete copy made from
# the same pom.xml. Concurrent runs (go test builds packages in parallel) are
# safe: each assembles into its own temporary directory and the first to
# finish moves it into place.
#
# Environment:
#   HOTLINE_KAFKA_HOME  cache directory (default $HOME/.cache/hotline/kafka-<version>)
#   MVN                 Maven command (default mvn)
#
# Layout of the cache directory:
#   libs/      the broker's classpath (java -cp 'libs/*' kafka.Kafka ...)
#   VERSION    the Kafka version
#   .pom-sum   checksum of the pom.xml the copy was made from
set -eu

here=$(cd "$(dirname "$0")" && pwd)
pom="$here/pom.xml"
version=$(sed -n 's:.*<kafka\.version>\([^<]*\)</kafka\.version>.*:\1:p' "$pom" | head -n 1)
if [ -z "$version" ]; then
	echo "install.sh: no <kafka.version> in $pom" >&2
	exit 1
fi
dir=${HOTLINE_KAFKA_HOME:-${HOME:?HOME is not set}/.cache/hotline/kafka-$version}
sum=$(cksum <"$pom" | cut -d ' ' -f 1,2)

if [ -f "$dir/.pom-sum" ] && [ "$(cat "$dir/.pom-sum")" = "$sum" ] && [ -d "$dir/libs" ]; then
	echo "$dir"
	exit 0
fi

command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ] || {
	echo "install.sh: java not found (Java 17 or newer is needed to run the Kafka broker)" >&2
	exit 1
}
mvn=${MVN:-mvn}
command -v "$mvn" >/dev/null 2>&1 || {
	echo "install.sh: $mvn not found (Maven fetches the Kafka broker's jars from Maven Central)" >&2
	exit 1
}

parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "install.sh: fetching Apache Kafka $version from Maven Central into $dir" >&2
"$mvn" -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
	-DincludeScope=runtime -DoutputDirectory="$tmp/libs" >&2
if ! ls "$tmp/libs"/kafka_2.13-"$version".jar >/dev/null 2>&1; then
	echo "install.sh: Maven did not copy kafka_2.13-$version.jar into $tmp/libs" >&2
	exit 1
fi
echo "$version" >"$tmp/VERSION"
echo "$sum" >"$tmp/.pom-sum"

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
