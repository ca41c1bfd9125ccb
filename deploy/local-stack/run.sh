#!/usr/bin/env bash
# The local run (README's first command) without Maven in the foreground, so that Ctrl-C reaches the
# run itself, which then drains the job and prints its final summary. Build once first:
#   mvn -q -ntp install -DskipTests      (again after changing code: the run uses installed modules)
# Options: deploy/local-stack/run.sh --help
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cp_file="$here/target/local-run.classpath"
if [ ! -d "$here/target/classes" ]; then
  echo "Build first: mvn -q -ntp install -DskipTests" >&2
  exit 2
fi
if [ ! -s "$cp_file" ] || [ "$here/pom.xml" -nt "$cp_file" ] || [ "$here/../../pom.xml" -nt "$cp_file" ]; then
  mvn -q -ntp -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
fi
# The run uses the modules as last installed (mvn install), and works from the repository root, so
# its default --dir is ./local-run there.
cd "$here/../.."
exec java -Xmx2g \
  --add-opens=java.base/java.lang=ALL-UNNAMED \
  --add-opens=java.base/java.util=ALL-UNNAMED \
  --add-opens=java.base/java.nio=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
  -cp "$here/target/classes:$(cat "$cp_file")" \
  io.tenantexport.local.LocalRun "$@"
