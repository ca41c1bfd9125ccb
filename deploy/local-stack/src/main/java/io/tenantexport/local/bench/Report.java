package io.tenantexport.local.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * The benchmark's results: per tenant count and job, the median of each figure over the finished
 * repetitions, and the ratios the issue sets targets for; as a markdown table and as JSON (every
 * run, the medians, the ratios and the setup).
 */
final class Report {
  static final List<String> JOBS = List.of("a", "b", "c");
  private static final Map<String, String> JOB_NAMES =
      Map.of(
          "a", "(a) discard ceiling",
          "b", "(b) bare FileSink",
          "c", "(c) full pipeline");

  private final Map<String, Object> setup;
  private final List<RunResult> runs;
  private final Map<Integer, LatencyProbe.Latencies> latencies;
  private final Map<Integer, IdleStateProbe.IdleState> idleStates;

  Report(
      Map<String, Object> setup,
      List<RunResult> runs,
      Map<Integer, LatencyProbe.Latencies> latencies,
      Map<Integer, IdleStateProbe.IdleState> idleStates) {
    this.setup = setup;
    this.runs = runs;
    this.latencies = latencies;
    this.idleStates = idleStates;
  }

  /** The median of {@code figure} over the finished runs of {@code job} at {@code tenants}. */
  double median(String job, int tenants, ToDoubleFunction<RunResult> figure) {
    List<Double> v = new ArrayList<>();
    for (RunResult r : of(job, tenants)) {
      if (r.finished()) {
        v.add(figure.applyAsDouble(r));
      }
    }
    return Stats.median(v);
  }

  private List<RunResult> of(String job, int tenants) {
    return runs.stream().filter(r -> r.job().equals(job) && r.tenants() == tenants).toList();
  }

  /** FINISHED when every repetition finished, else the first failure and how many there were. */
  String status(String job, int tenants) {
    List<RunResult> rs = of(job, tenants);
    List<RunResult> failed = rs.stream().filter(r -> !r.finished()).toList();
    if (rs.isEmpty()) {
      return "not run";
    }
    return failed.isEmpty()
        ? "FINISHED"
        : failed.size() + "/" + rs.size() + " " + failed.get(0).status();
  }

  private TreeSet<Integer> tenantCounts() {
    TreeSet<Integer> t = new TreeSet<>();
    runs.forEach(r -> t.add(r.tenants()));
    return t;
  }

  private double eps(String job, int tenants) {
    return median(job, tenants, RunResult::eventsPerSecond);
  }

  String markdown() {
    StringBuilder sb = new StringBuilder();
    sb.append("Setup: ");
    setup.forEach((k, v) -> sb.append(k).append('=').append(v).append("; "));
    sb.append("\n\n");
    sb.append(
        "| tenants | job | events/s | events/s wall | CPU s / M events | JIT % of CPU |"
            + " peak TM heap MiB |"
            + " lake files | files/tenant/h (median, max) | median file KiB | checkpoint B/tenant |"
            + " status |\n");
    sb.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int t : tenantCounts()) {
      for (String job : JOBS) {
        if (of(job, t).isEmpty()) {
          continue;
        }
        sb.append("| ")
            .append(t)
            .append(" | ")
            .append(JOB_NAMES.get(job))
            .append(" | ")
            .append(fmt(eps(job, t), 0))
            .append(" | ")
            .append(fmt(median(job, t, RunResult::wallEventsPerSecond), 0))
            .append(" | ")
            .append(fmt(median(job, t, RunResult::cpuSecondsPerMillion), 1))
            .append(" | ")
            .append(fmt(100 * median(job, t, RunResult::jitShareOfCpu), 1))
            .append(" | ")
            .append(fmt(median(job, t, RunResult::peakHeapMiB), 0))
            .append(" | ")
            .append(fmt(median(job, t, RunResult::lakeFiles), 0))
            .append(" | ")
            .append(fmt(median(job, t, RunResult::filesPerTenantHour), 2))
            .append(", ")
            .append(fmt(median(job, t, RunResult::maxFilesPerTenantHour), 1))
            .append(" | ")
            .append(fmt(median(job, t, RunResult::medianFileKiB), 1))
            .append(" | ")
            .append(fmt(median(job, t, RunResult::stateBytesPerTenant), 0))
            .append(" | ")
            .append(status(job, t))
            .append(" |\n");
      }
    }
    sb.append("\n| ratio | target |");
    for (int t : tenantCounts()) {
      sb.append(' ').append(t).append(" tenants |");
    }
    sb.append("\n|---|---|");
    tenantCounts().forEach(t -> sb.append("---:|"));
    sb.append('\n');
    Map<String, Map<Integer, Double>> ratios = ratios();
    for (Map.Entry<String, Map<Integer, Double>> e : ratios.entrySet()) {
      if (e.getKey().startsWith("(c at")) {
        continue;
      }
      sb.append("| ").append(e.getKey()).append(" | ").append(target(e.getKey())).append(" |");
      for (int t : tenantCounts()) {
        sb.append(' ').append(fmt(e.getValue().getOrDefault(t, Double.NaN), 2)).append(" |");
      }
      sb.append('\n');
    }
    sb.append(
        "\n| tenants | (c) rollup rows (both sides write them widened to ≥ "
            + WarehouseBaseline.MIN_ROWS
            + ") | (w) sink alone rows/s | standalone upsert rows/s"
            + " (batch "
            + WarehouseBaseline.BATCH
            + ") | sink alone ÷ standalone (target ≥ 0.7) |\n");
    sb.append("|---:|---:|---:|---:|---:|\n");
    for (int t : tenantCounts()) {
      double sinkAlone = median("c", t, RunResult::sinkAloneRowsPerSecond);
      double standalone = median("c", t, RunResult::standaloneRowsPerSecond);
      sb.append("| ")
          .append(t)
          .append(" | ")
          .append(fmt(median("c", t, RunResult::warehouseRows), 0))
          .append(" | ")
          .append(fmt(sinkAlone, 0))
          .append(" | ")
          .append(fmt(standalone, 0))
          .append(" | ")
          .append(fmt(Stats.ratio(sinkAlone, standalone), 2))
          .append(" |\n");
    }
    if (!latencies.isEmpty()) {
      sb.append(
          "\n| tenants | latency run: rate/s, records | not yet read at the end |"
              + " audit, per record (n) p50 / p99 ms |"
              + " audit receipts (n) p50 / p99 ms after window end + lateness |"
              + " warehouse rows (n) p50 / p99 ms after window end + lateness | job |\n");
      sb.append("|---:|---:|---:|---:|---:|---:|---|\n");
      latencies.forEach(
          (t, l) ->
              sb.append("| ")
                  .append(t)
                  .append(" | ")
                  .append(fmt(l.rate(), 0))
                  .append(", ")
                  .append(l.produced())
                  .append(" | ")
                  .append(l.lagAtEnd() < 0 ? "–" : Long.toString(l.lagAtEnd()))
                  .append(" | (")
                  .append(l.recordEvents())
                  .append(") ")
                  .append(fmt(l.recordP50(), 0))
                  .append(" / ")
                  .append(fmt(l.recordP99(), 0))
                  .append(" | (")
                  .append(l.receipts())
                  .append(") ")
                  .append(fmt(l.receiptP50(), 0))
                  .append(" / ")
                  .append(fmt(l.receiptP99(), 0))
                  .append(" | (")
                  .append(l.warehouseRows())
                  .append(") ")
                  .append(fmt(l.warehouseP50(), 0))
                  .append(" / ")
                  .append(fmt(l.warehouseP99(), 0))
                  .append(" | ")
                  .append(l.status())
                  .append(" |\n"));
    }
    if (!idleStates.isEmpty()) {
      sb.append(
          "\n| tenants (with input) | idle state: job vertex (savepoint after the input) | bytes |"
              + " bytes per tenant | per tenant with input |\n");
      sb.append("|---:|---|---:|---:|---:|\n");
      idleStates.forEach(
          (t, idle) -> {
            String tenants = t + " (" + idle.tenantsWithInput() + ")";
            if (!idle.finished()) {
              sb.append("| ")
                  .append(tenants)
                  .append(" | ")
                  .append(idle.status())
                  .append(" | – | – | – |\n");
              return;
            }
            idle.bytesByOperator().forEach((op, bytes) -> idleRow(sb, tenants, op, bytes, t, idle));
            idleRow(sb, tenants, "**all but buffered lake rows**", idle.keptBytes(), t, idle);
          });
      Map<String, Double> added = bytesPerAddedTenant();
      if (!added.isEmpty()) {
        sb.append("\nIdle state per added tenant (the slope between ")
            .append(idleStates.keySet().stream().min(Integer::compare).orElseThrow())
            .append(" and ")
            .append(idleStates.keySet().stream().max(Integer::compare).orElseThrow())
            .append(" tenants, which leaves out each vertex's fixed part; all: without the lake")
            .append(" buffer): ");
        List<String> parts = new ArrayList<>();
        added.forEach((op, bytes) -> parts.add(op + " " + fmt(bytes, 1) + " B"));
        sb.append(String.join("; ", parts)).append(".\n");
      }
    }
    if (tenantCounts().size() > 1) {
      int lo = tenantCounts().first();
      int hi = tenantCounts().last();
      sb.append("\n(c) events/s at ")
          .append(hi)
          .append(" ÷ at ")
          .append(lo)
          .append(" tenants: ")
          .append(fmt(Stats.ratio(eps("c", hi), eps("c", lo)), 2))
          .append(" (target ≥ 0.8)\n");
    }
    return sb.toString();
  }

  private static void idleRow(
      StringBuilder sb,
      String tenants,
      String vertex,
      long bytes,
      int allTenants,
      IdleStateProbe.IdleState idle) {
    sb.append("| ")
        .append(tenants)
        .append(" | ")
        .append(vertex)
        .append(" | ")
        .append(fmt(bytes, 0))
        .append(" | ")
        .append(fmt((double) bytes / allTenants, 1))
        .append(" | ")
        .append(fmt(Stats.ratio(bytes, idle.tenantsWithInput()), 1))
        .append(" |\n");
  }

  /**
   * Per job vertex and in all (without the lake buffer), the idle state each tenant adds: (bytes at
   * the largest finished tenant count − at the smallest) ÷ (the difference in tenants), which
   * leaves out what a vertex holds whatever the number of tenants. Empty with fewer than two
   * finished counts.
   */
  Map<String, Double> bytesPerAddedTenant() {
    List<Integer> finished =
        idleStates.entrySet().stream()
            .filter(e -> e.getValue().finished())
            .map(Map.Entry::getKey)
            .sorted()
            .toList();
    Map<String, Double> added = new LinkedHashMap<>();
    if (finished.size() < 2) {
      return added;
    }
    int lo = finished.get(0);
    int hi = finished.get(finished.size() - 1);
    IdleStateProbe.IdleState a = idleStates.get(lo);
    IdleStateProbe.IdleState b = idleStates.get(hi);
    b.bytesByOperator()
        .forEach(
            (op, bytes) ->
                added.put(
                    op, (double) (bytes - a.bytesByOperator().getOrDefault(op, 0L)) / (hi - lo)));
    added.put("all", (double) (b.keptBytes() - a.keptBytes()) / (hi - lo));
    return added;
  }

  private static String target(String ratio) {
    return switch (ratio) {
      case "(c)/(b) events/s" -> "≥ 0.75 at 10, ≥ 1.0 at 1,000";
      case "(c)/(a) events/s" -> "≥ 0.4";
      case "warehouse: (w) sink alone ÷ standalone upsert" -> "≥ 0.7 (see below)";
      default -> "";
    };
  }

  /** Ratio name → tenants → value. */
  Map<String, Map<Integer, Double>> ratios() {
    Map<String, Map<Integer, Double>> m = new LinkedHashMap<>();
    Map<Integer, Double> cb = new LinkedHashMap<>();
    Map<Integer, Double> ca = new LinkedHashMap<>();
    Map<Integer, Double> cpu = new LinkedHashMap<>();
    for (int t : tenantCounts()) {
      cb.put(t, Stats.ratio(eps("c", t), eps("b", t)));
      ca.put(t, Stats.ratio(eps("c", t), eps("a", t)));
      cpu.put(
          t,
          Stats.ratio(
              median("c", t, RunResult::cpuSecondsPerMillion),
              median("b", t, RunResult::cpuSecondsPerMillion)));
    }
    m.put("(c)/(b) events/s", cb);
    m.put("(c)/(a) events/s", ca);
    m.put("(c)/(b) CPU per event", cpu);
    Map<Integer, Double> wh = new LinkedHashMap<>();
    for (int t : tenantCounts()) {
      wh.put(
          t,
          Stats.ratio(
              median("c", t, RunResult::sinkAloneRowsPerSecond),
              median("c", t, RunResult::standaloneRowsPerSecond)));
    }
    m.put("warehouse: (w) sink alone ÷ standalone upsert", wh);
    if (tenantCounts().size() > 1) {
      int lo = tenantCounts().first();
      int hi = tenantCounts().last();
      m.put(
          "(c at " + hi + ")/(c at " + lo + ") events/s",
          Map.of(hi, Stats.ratio(eps("c", hi), eps("c", lo))));
    }
    return m;
  }

  void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("results.md"), markdown());
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("setup", setup);
    List<Map<String, Object>> medians = new ArrayList<>();
    for (int t : tenantCounts()) {
      for (String job : JOBS) {
        if (of(job, t).isEmpty()) {
          continue;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tenants", t);
        m.put("job", job);
        m.put("status", status(job, t));
        m.put("events_per_second", RunResult.json(eps(job, t)));
        m.put(
            "cpu_seconds_per_million_events",
            RunResult.json(median(job, t, RunResult::cpuSecondsPerMillion)));
        m.put("jit_share_of_cpu", RunResult.json(median(job, t, RunResult::jitShareOfCpu)));
        m.put("peak_taskmanager_heap_mib", RunResult.json(median(job, t, RunResult::peakHeapMiB)));
        m.put("lake_files", RunResult.json(median(job, t, RunResult::lakeFiles)));
        m.put(
            "files_per_tenant_hour_median",
            RunResult.json(median(job, t, RunResult::filesPerTenantHour)));
        m.put(
            "files_per_tenant_hour_max",
            RunResult.json(median(job, t, RunResult::maxFilesPerTenantHour)));
        m.put("median_file_kib", RunResult.json(median(job, t, RunResult::medianFileKiB)));
        m.put(
            "checkpoint_state_bytes_per_tenant",
            RunResult.json(median(job, t, RunResult::stateBytesPerTenant)));
        m.put("warehouse_rows", RunResult.json(median(job, t, RunResult::warehouseRows)));
        m.put(
            "warehouse_rows_per_second_sink_alone",
            RunResult.json(median(job, t, RunResult::sinkAloneRowsPerSecond)));
        m.put(
            "warehouse_rows_per_second_standalone",
            RunResult.json(median(job, t, RunResult::standaloneRowsPerSecond)));
        medians.add(m);
      }
    }
    json.put("medians", medians);
    Map<String, Object> ratios = new LinkedHashMap<>();
    ratios()
        .forEach(
            (name, byTenants) -> {
              Map<String, Object> v = new LinkedHashMap<>();
              byTenants.forEach((t, r) -> v.put(Integer.toString(t), RunResult.json(r)));
              ratios.put(name, v);
            });
    json.put("ratios", ratios);
    Map<String, Object> lat = new LinkedHashMap<>();
    latencies.forEach(
        (t, l) -> {
          Map<String, Object> v = new LinkedHashMap<>();
          v.put("rate_per_second", RunResult.json(l.rate()));
          v.put("records_produced", l.produced());
          v.put("records_not_read_when_production_ended", l.lagAtEnd());
          v.put("job_state_at_end", l.status());
          v.put("audit_record_events", l.recordEvents());
          v.put("audit_record_p50_ms", RunResult.json(l.recordP50()));
          v.put("audit_record_p99_ms", RunResult.json(l.recordP99()));
          v.put("audit_receipts", l.receipts());
          v.put("audit_receipt_p50_ms_after_close", RunResult.json(l.receiptP50()));
          v.put("audit_receipt_p99_ms_after_close", RunResult.json(l.receiptP99()));
          v.put("warehouse_rows", l.warehouseRows());
          v.put("warehouse_p50_ms_after_close", RunResult.json(l.warehouseP50()));
          v.put("warehouse_p99_ms_after_close", RunResult.json(l.warehouseP99()));
          lat.put(Integer.toString(t), v);
        });
    json.put("latency", lat);
    Map<String, Object> idle = new LinkedHashMap<>();
    idleStates.forEach(
        (t, s) -> {
          Map<String, Object> v = new LinkedHashMap<>();
          v.put("status", s.status());
          v.put("tenants_with_input", s.tenantsWithInput());
          v.put("state_bytes_by_vertex", s.bytesByOperator());
          v.put("state_bytes", s.finished() ? s.totalBytes() : null);
          v.put("state_bytes_without_buffered_lake_rows", s.finished() ? s.keptBytes() : null);
          v.put(
              "state_bytes_per_tenant_without_buffered_lake_rows",
              RunResult.json(s.finished() ? (double) s.keptBytes() / t : Double.NaN));
          idle.put(Integer.toString(t), v);
        });
    json.put("idle_state", idle);
    Map<String, Object> added = new LinkedHashMap<>();
    bytesPerAddedTenant().forEach((op, bytes) -> added.put(op, RunResult.json(bytes)));
    json.put("idle_state_bytes_per_added_tenant", added);
    List<Map<String, Object>> all = new ArrayList<>();
    for (RunResult r : runs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("job", r.job());
      m.put("tenants", r.tenants());
      m.put("repetition", r.repetition());
      m.put("status", r.status());
      m.put("events", r.events());
      m.putAll(r.figures());
      all.add(m);
    }
    json.put("runs", all);
    new ObjectMapper()
        .enable(SerializationFeature.INDENT_OUTPUT)
        .writeValue(dir.resolve("results.json").toFile(), json);
  }

  static String fmt(double v, int decimals) {
    return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%,." + decimals + "f", v);
  }
}
