package io.tenantexport.common.agg;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.Ids;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.MetricSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.schemas.AggregateCell;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.TenantWindow;
import io.tenantexport.schemas.WarehouseRollup;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The aggregation math of a tenant's tumbling window, in delta semantics: a window holds the net
 * change that happened in it, so summing a metric over all windows gives its value over the table's
 * current rows.
 *
 * <ul>
 *   <li>insert/snapshot read: +1 row and +value in the after image's dimension cell;
 *   <li>update: the before image is retracted (-1 row, -value in its cell) and the after image
 *       added, so a change of a dimension moves the row between cells and {@code count} and {@code
 *       sum} stay exact;
 *   <li>delete: the before image is retracted.
 * </ul>
 *
 * <p>{@code min} and {@code max} cannot be retracted without keeping every value: they are the
 * extremes of the values <em>written</em> in the window (after images), and retractions do not
 * change them.
 *
 * <p>An update or delete whose before image is missing or partial (neither complete in the envelope
 * nor in the job's row state) cannot be retracted: {@link #apply} then leaves the rollups untouched
 * and returns false, so that the caller counts it instead of adding a half-change.
 */
public final class WindowAggregation {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ExportSpec spec;

  public WindowAggregation(ExportSpec spec) {
    this.spec = spec;
  }

  public static TenantWindow newWindow(long windowStart) {
    return TenantWindow.newBuilder().setWindowStart(windowStart).setCells(new HashMap<>()).build();
  }

  /**
   * Folds one applied change into {@code window}. Returns false, changing nothing in the cells,
   * when an update or delete has no before image to retract.
   */
  public boolean apply(TenantWindow window, ChangeEvent e) {
    TableSpec table = spec.table(e.getSourceTable());
    String op = e.getOp();
    boolean completeBefore = isComplete(table, spec.tenantColumn(), e.getBefore());
    if ((op.equals("u") || op.equals("d")) && !completeBefore) {
      return false;
    }
    // Also for c and r: a snapshot read or insert of a row the job already holds comes with that
    // row's image as before (see ScopeDeduplicator), so it replaces the row instead of counting it
    // twice.
    if (completeBefore) {
      fold(window, table, e.getBefore(), -1, false);
    }
    if (!op.equals("d")) {
      fold(window, table, e.getAfter(), +1, true);
    }
    return true;
  }

  /**
   * Whether {@code image} can be retracted exactly: every exported column present and the tenant
   * column set. A key-only image (PostgreSQL's default replica identity) fails the second test even
   * when the converter writes the missing columns as nulls.
   */
  public static boolean isComplete(
      TableSpec table, String tenantColumn, Map<String, String> image) {
    return image != null
        && image.keySet().containsAll(table.columns().keySet())
        && image.get(tenantColumn) != null;
  }

  private void fold(
      TenantWindow window, TableSpec table, Map<String, String> image, int sign, boolean extremes) {
    String dims = dimensions(table, image);
    for (MetricSpec m : table.metrics()) {
      String cellKey = table.name() + '\u0001' + m.name() + '\u0001' + dims;
      AggregateCell cell = window.getCells().get(cellKey);
      if (cell == null) {
        cell =
            AggregateCell.newBuilder()
                .setSourceTable(table.name())
                .setMetric(m.name())
                .setDimensions(dims)
                .setRowCount(0)
                .setSum("0")
                .setMin(null)
                .setMax(null)
                .build();
        window.getCells().put(cellKey, cell);
      }
      cell.setRowCount(cell.getRowCount() + sign);
      if (m.kind() == MetricSpec.Kind.COUNT) {
        continue;
      }
      String raw = image.get(m.column());
      if (raw == null) {
        continue; // SQL semantics: NULL contributes to no sum, min or max
      }
      BigDecimal v = new BigDecimal(raw);
      if (m.kind() == MetricSpec.Kind.SUM) {
        BigDecimal s = new BigDecimal(cell.getSum());
        cell.setSum((sign > 0 ? s.add(v) : s.subtract(v)).toPlainString());
      } else if (extremes) {
        String cur = m.kind() == MetricSpec.Kind.MIN ? cell.getMin() : cell.getMax();
        boolean replace =
            cur == null
                || (m.kind() == MetricSpec.Kind.MIN
                    ? v.compareTo(new BigDecimal(cur)) < 0
                    : v.compareTo(new BigDecimal(cur)) > 0);
        if (replace) {
          if (m.kind() == MetricSpec.Kind.MIN) {
            cell.setMin(raw);
          } else {
            cell.setMax(raw);
          }
        }
      }
    }
  }

  /**
   * Canonical JSON object of the table's dimension values, keys sorted; the warehouse key column.
   */
  public static String dimensions(TableSpec table, Map<String, String> image) {
    Map<String, String> dims = new TreeMap<>();
    for (String d : table.dimensions()) {
      dims.put(d, image == null ? null : image.get(d));
    }
    try {
      return JSON.writeValueAsString(dims);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render dimensions of " + table.name(), e);
    }
  }

  /** The window's warehouse rows, in canonical order (table, metric, dimensions). */
  public List<WarehouseRollup> rollups(String tenantId, TenantWindow window) {
    long start = window.getWindowStart();
    long end = start + spec.window().toMillis();
    List<WarehouseRollup> out = new ArrayList<>(window.getCells().size());
    for (AggregateCell c : window.getCells().values()) {
      MetricSpec m = metric(c.getSourceTable(), c.getMetric());
      String value;
      switch (m.kind()) {
        case COUNT:
          value = Long.toString(c.getRowCount());
          break;
        case SUM:
          value = c.getSum();
          break;
        case MIN:
          value = c.getMin();
          break;
        default:
          value = c.getMax();
          break;
      }
      out.add(
          WarehouseRollup.newBuilder()
              .setTenantId(tenantId)
              .setSourceTable(c.getSourceTable())
              .setMetric(c.getMetric())
              .setDimensions(c.getDimensions())
              .setWindowStart(Instant.ofEpochMilli(start))
              .setWindowEnd(Instant.ofEpochMilli(end))
              .setValue(value)
              .setRowCount(c.getRowCount())
              .setRevision(window.getRevision())
              .setExportVersion(spec.version())
              .build());
    }
    out.sort(
        Comparator.comparing(WarehouseRollup::getSourceTable)
            .thenComparing(WarehouseRollup::getMetric)
            .thenComparing(WarehouseRollup::getDimensions));
    return out;
  }

  private MetricSpec metric(String table, String name) {
    for (MetricSpec m : spec.table(table).metrics()) {
      if (m.name().equals(name)) {
        return m;
      }
    }
    throw new IllegalStateException(
        "metric " + name + " of " + table + " is not in spec " + spec.source());
  }

  /**
   * SHA-256 (hex, 32 chars) over rollup rows in canonical order, one line each: {@code
   * tenant|table|metric|dimensions|window_start_ms|value|row_count}. Anyone can recompute it from
   * the warehouse to check a receipt.
   */
  public static String checksum(List<WarehouseRollup> rows) {
    MessageDigest md = Ids.sha256();
    for (WarehouseRollup r : rows) {
      String line =
          r.getTenantId()
              + '|'
              + r.getSourceTable()
              + '|'
              + r.getMetric()
              + '|'
              + r.getDimensions()
              + '|'
              + r.getWindowStart().toEpochMilli()
              + '|'
              + (r.getValue() == null ? "" : canonicalNumber(r.getValue()))
              + '|'
              + r.getRowCount()
              + '\n';
      md.update(line.getBytes(StandardCharsets.UTF_8));
    }
    return Ids.hex(md.digest(), 16);
  }

  /**
   * A number as the checksum sees it: trailing zeros stripped, so 12.50 in Avro equals 12.5 from
   * SQL.
   */
  public static String canonicalNumber(String value) {
    BigDecimal d = new BigDecimal(value);
    return d.signum() == 0 ? "0" : d.stripTrailingZeros().toPlainString();
  }
}
