package io.tenantexport.local;

import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.MetricSpec;
import io.tenantexport.common.spec.TableSpec;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the job must output for a generated input, computed from the generator's ground truth alone,
 * with its own arithmetic (none of the job's aggregation code): delta semantics per tenant, window,
 * metric and dimension values; min/max over written values.
 */
final class Reference {
  final Map<String, List<String>> lake = new TreeMap<>();
  final Map<String, List<String>> warehouse = new TreeMap<>();

  /** tenant → window start → changes applied. */
  final Map<String, Map<Long, Long>> eventsIn = new TreeMap<>();

  final Map<String, Long> duplicates = new TreeMap<>();
  final Map<String, Long> quarantinedWithTenant = new TreeMap<>();
  final Map<String, Long> late = new TreeMap<>();
  final List<GeneratedRecord> malformed = new ArrayList<>();

  private static final class Cell {
    long rows;
    BigDecimal sum = BigDecimal.ZERO;
    BigDecimal min;
    BigDecimal max;
    long revision;
  }

  /** What the tenant's policy makes of a projected image (the job's redaction, as a function). */
  interface Redaction {
    Map<String, String> apply(String tenant, String table, Map<String, String> image);
  }

  Reference(List<GeneratedRecord> input, ExportSpec spec, Redaction redaction) {
    Map<String, Truth.Valid> byIdentity = new HashMap<>();
    // (tenant|metric|dims|windowStart) → cell; plus table per metric for the line
    Map<String, Cell> cells = new TreeMap<>();
    Map<String, String> cellTable = new HashMap<>();
    Map<String, Long> revisions = new HashMap<>();
    for (GeneratedRecord r : input) {
      Truth t = r.truth();
      if (t instanceof Truth.Valid v) {
        byIdentity.put(v.identity(), v);
        Map<String, String> before = redaction.apply(v.tenantId(), v.table(), v.before());
        Map<String, String> after = redaction.apply(v.tenantId(), v.table(), v.after());
        Map<String, String> image = v.op().equals("d") ? before : after;
        lake.computeIfAbsent(v.tenantId(), x -> new ArrayList<>())
            .add(
                RunOutputs.lakeLine(
                    v.tenantId(), v.table(), v.op(), v.eventTimeMillis(), v.late(), image));
        if (v.late()) {
          late.merge(v.tenantId(), 1L, Long::sum);
          continue;
        }
        long ws = spec.windowStart(v.eventTimeMillis());
        eventsIn.computeIfAbsent(v.tenantId(), x -> new TreeMap<>()).merge(ws, 1L, Long::sum);
        revisions.merge(v.tenantId() + "|" + ws, 1L, Long::sum);
        TableSpec table = spec.table(v.table());
        if (v.op().equals("u") || v.op().equals("d")) {
          fold(cells, cellTable, table, v.tenantId(), ws, before, -1);
        }
        if (!v.op().equals("d")) {
          fold(cells, cellTable, table, v.tenantId(), ws, after, +1);
        }
      } else if (t instanceof Truth.Duplicate d) {
        Truth.Valid original = byIdentity.get(d.identity());
        if (original != null && !original.late()) {
          duplicates.merge(original.tenantId(), 1L, Long::sum);
        }
      } else if (t instanceof Truth.Malformed m) {
        malformed.add(r);
        if (m.tenantIdOrNull() != null) {
          quarantinedWithTenant.merge(m.tenantIdOrNull(), 1L, Long::sum);
        }
      }
    }
    long size = spec.window().toMillis();
    for (Map.Entry<String, Cell> e : cells.entrySet()) {
      String[] k = e.getKey().split("\u0001");
      String tenant = k[0];
      String metric = k[1];
      String dims = k[2];
      long ws = Long.parseLong(k[3]);
      String table = cellTable.get(metric);
      MetricSpec m =
          spec.table(table).metrics().stream()
              .filter(x -> x.name().equals(metric))
              .findFirst()
              .get();
      Cell c = e.getValue();
      String value =
          switch (m.kind()) {
            case COUNT -> Long.toString(c.rows);
            case SUM -> RunOutputs.canonical(c.sum);
            case MIN -> c.min == null ? "null" : RunOutputs.canonical(c.min);
            case MAX -> c.max == null ? "null" : RunOutputs.canonical(c.max);
          };
      warehouse
          .computeIfAbsent(tenant, x -> new ArrayList<>())
          .add(
              String.join(
                  "|",
                  tenant,
                  table,
                  metric,
                  dims,
                  Instant.ofEpochMilli(ws).toString(),
                  Instant.ofEpochMilli(ws + size).toString(),
                  value,
                  Long.toString(c.rows),
                  Long.toString(revisions.get(tenant + "|" + ws)),
                  Integer.toString(spec.version())));
    }
    lake.values().forEach(l -> l.sort(null));
    warehouse.values().forEach(l -> l.sort(null));
  }

  private static void fold(
      Map<String, Cell> cells,
      Map<String, String> cellTable,
      TableSpec table,
      String tenant,
      long ws,
      Map<String, String> image,
      int sign) {
    Map<String, String> dims = new TreeMap<>();
    for (String d : table.dimensions()) {
      dims.put(d, image.get(d));
    }
    StringBuilder dimsJson = new StringBuilder("{");
    for (Map.Entry<String, String> d : dims.entrySet()) {
      if (dimsJson.length() > 1) {
        dimsJson.append(',');
      }
      dimsJson.append('"').append(d.getKey()).append("\":");
      dimsJson.append(
          d.getValue() == null
              ? "null"
              : "\"" + d.getValue().replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
    }
    dimsJson.append('}');
    for (MetricSpec m : table.metrics()) {
      cellTable.put(m.name(), table.name());
      Cell c =
          cells.computeIfAbsent(
              tenant + "\u0001" + m.name() + "\u0001" + dimsJson + "\u0001" + ws, x -> new Cell());
      c.rows += sign;
      if (m.column() == null || image.get(m.column()) == null) {
        continue;
      }
      BigDecimal v = new BigDecimal(image.get(m.column()));
      c.sum = sign > 0 ? c.sum.add(v) : c.sum.subtract(v);
      if (sign > 0) {
        c.min = c.min == null || v.compareTo(c.min) < 0 ? v : c.min;
        c.max = c.max == null || v.compareTo(c.max) > 0 ? v : c.max;
      }
    }
  }
}
