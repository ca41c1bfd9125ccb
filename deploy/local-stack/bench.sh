#!/usr/bin/env bash
# The benchmark (issue 5): preloads the local Kafka broker with generated Debezium events for each
# tenant count, then runs on the same data, side by side on a real multi-process Flink cluster
# (JobManager and TaskManagers as JVMs, see cluster.sh): (a) a discard ceiling, (b) a bare FileSink
# Parquet job bucketed by tenant, (c) the full pipeline with PostgreSQL. Prints a markdown table and
# writes <out>/results.md and <out>/results.json (io.tenantexport.local.bench.Benchmark).
#
#   deploy/local-stack/bench.sh [--tenants 10,1000,100000] [--jobs a,b,c] [--events 600000] [--parallelism 2]
#       [--checkpoint-interval 10s] [--warmups 2] [--repetitions 3] [--out bench-results]
#       [--task-managers 2] [--run-timeout 10m] [--latency-tenants 10] [--latency-rate 0] [--latency-duration 4m]
#       [--jm-memory 1024m] [--tm-memory 1536m] [--spec deploy/export-spec.yaml] [--jar <job jar>]
#
# Build once first: mvn -q -ntp install -DskipTests (the command uses the installed modules and the
# job jar in jobs/target). Run it on a quiet machine: other work on the cores skews every figure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -d "$here/target/classes" ]; then
  echo "Build first: mvn -q -ntp install -DskipTests" >&2
  exit 2
fi
cp_file="$here/target/local-run.classpath"
flink_cp="$here/target/flink-cluster.classpath"
for f in "$cp_file" "$flink_cp"; do
  if [ ! -s "$f" ] || [ "$here/pom.xml" -nt "$f" ] || [ "$root/pom.xml" -nt "$f" ]; then
    mvn -q -ntp -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
    mvn -q -ntp -f "$here/pom.xml" dependency:build-classpath@flink-cluster-classpath >&2
    break
  fi
done
# Relative paths (--out, --spec, the job jar) are relative to the repository root.
cd "$root"
exec java -Xmx2g \
  --add-opens=java.base/java.lang=ALL-UNNAMED \
  --add-opens=java.base/java.util=ALL-UNNAMED \
  --add-opens=java.base/java.nio=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
  -Dtenant-export.flink.classpath-file="$flink_cp" \
  -Dtenant-export.flink.config-file="$root/deploy/config.yaml" \
  -cp "$here/target/classes:$(cat "$cp_file")" \
  io.tenantexport.local.bench.Benchmark "$@"
