#!/usr/bin/env bash
# A real Flink 2.2 session cluster on this machine, next to the local Kafka broker and PostgreSQL:
# a JobManager and TaskManagers as separate JVMs bound to 127.0.0.1, started from the Maven-resolved
# Flink jars with deploy/config.yaml (the production file) plus local overrides, which the generated
# <dir>/flink/conf/config.yaml lists in its header (io.tenantexport.local.infra.LocalFlinkCluster).
#
#   deploy/local-stack/cluster.sh start [--dir local-cluster] [--task-managers 2] [--slots 2]
#   deploy/local-stack/cluster.sh status [--dir local-cluster]
#   deploy/local-stack/cluster.sh stop   [--dir local-cluster]
#
# start prints the REST URL (web UI), the Kafka bootstrap servers and the warehouse URL (also in
# <dir>/cluster.env); the cluster's JVMs have the warehouse writer's password in their environment, so
# the job jar (jobs/target/tenant-export-jobs-*-job.jar) can be submitted through the web UI or REST.
# Logs: <dir>/flink/log (jobmanager.log, tm1.log, ...) and <dir>/cluster.out. Kafka and PostgreSQL live
# in the launcher JVM and are gone after stop. Build once first: mvn -q -ntp install -DskipTests
# Drill: kill -9 "$(cat <dir>/flink/pids/tm1.pid)" while a job runs; it restarts on the other TaskManager.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd="${1:-}"
shift || true
dir="$root/local-cluster"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
pid_file="$dir/cluster.pid"

running() { [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "$cmd" in
  start)
    if running; then echo "already running (pid $(cat "$pid_file")):" >&2; cat "$dir/cluster.env"; exit 1; fi
    if [ ! -d "$here/target/classes" ]; then echo "Build first: mvn -q -ntp install -DskipTests" >&2; exit 2; fi
    cp_file="$here/target/local-run.classpath"
    flink_cp="$here/target/flink-cluster.classpath"
    for f in "$cp_file" "$flink_cp"; do
      if [ ! -s "$f" ] || [ "$here/pom.xml" -nt "$f" ] || [ "$root/pom.xml" -nt "$f" ]; then
        mvn -q -ntp -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
        mvn -q -ntp -f "$here/pom.xml" dependency:build-classpath@flink-cluster-classpath >&2
        break
      fi
    done
    mkdir -p "$dir"
    rm -f "$dir/cluster.env"
    nohup java -Xmx1g \
      --add-opens=java.base/java.lang=ALL-UNNAMED \
      --add-opens=java.base/java.util=ALL-UNNAMED \
      --add-opens=java.base/java.nio=ALL-UNNAMED \
      --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
      -Dtenant-export.flink.classpath-file="$flink_cp" \
      -Dtenant-export.flink.config-file="$root/deploy/config.yaml" \
      -cp "$here/target/classes:$(cat "$cp_file")" \
      io.tenantexport.local.LocalCluster --dir "$dir" ${args[@]+"${args[@]}"} \
      >>"$dir/cluster.out" 2>&1 </dev/null &
    echo $! >"$pid_file"
    for _ in $(seq 1 240); do
      if [ -s "$dir/cluster.env" ]; then cat "$dir/cluster.env"; exit 0; fi
      if ! running; then echo "start failed; see $dir/cluster.out:" >&2; tail -20 "$dir/cluster.out" >&2; exit 1; fi
      sleep 0.5
    done
    echo "not up after 120 s; see $dir/cluster.out (stop it with: $0 stop)" >&2
    exit 1
    ;;
  stop)
    if running; then
      pid="$(cat "$pid_file")"
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" || true
    fi
    # Only if the launcher itself was killed hard: its Flink JVMs, by their recorded pids.
    for f in "$dir"/flink/pids/*.pid; do
      [ -e "$f" ] || continue
      p="$(cat "$f")"
      if grep -qa 'org.apache.flink' "/proc/$p/cmdline" 2>/dev/null; then kill -KILL "$p" || true; fi
      rm -f "$f"
    done
    rm -f "$pid_file" "$dir/cluster.env"
    echo "stopped"
    ;;
  status)
    if running; then
      echo "running (pid $(cat "$pid_file"))"
      cat "$dir/cluster.env" 2>/dev/null || echo "(still starting)"
      url="$(sed -n 's/^FLINK_REST_URL=//p' "$dir/cluster.env" 2>/dev/null)"
      [ -n "$url" ] && curl -s "$url/overview" && echo
    else
      echo "not running"
      exit 3
    fi
    ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
