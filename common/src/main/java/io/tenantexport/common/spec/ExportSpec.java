package io.tenantexport.common.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The export spec: which tables, columns and metrics leave the job, and how windows are cut.
 *
 * <p>Loaded from a YAML file (see {@code deploy/export-spec.yaml}) and validated completely at
 * start-up; every error names the file, the entry and the problem. Its {@link #version()} is the
 * {@code export_version} stamped on every output. Immutable; serializable so that Flink can ship it
 * to operators.
 */
public final class ExportSpec implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Pattern IDENT = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private final String source;
  private final int version;
  private final String tenantColumn;
  private final Duration window;
  private final Duration allowedLateness;
  private final Duration maxEventTimeAhead;
  private final Map<String, TableSpec> tables;

  private ExportSpec(
      String source,
      int version,
      String tenantColumn,
      Duration window,
      Duration allowedLateness,
      Duration maxEventTimeAhead,
      Map<String, TableSpec> tables) {
    this.source = source;
    this.version = version;
    this.tenantColumn = tenantColumn;
    this.window = window;
    this.allowedLateness = allowedLateness;
    this.maxEventTimeAhead = maxEventTimeAhead;
    this.tables = Collections.unmodifiableMap(tables);
  }

  public static ExportSpec load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new SpecException(file + ": cannot read export spec: " + e.getMessage());
    }
    return parse(text, file.toString());
  }

  /** Parses and validates a spec; {@code source} names where the text came from in messages. */
  public static ExportSpec parse(String yaml, String source) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (IOException e) {
      throw new SpecException(source + ": not valid YAML: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new SpecException(source + ": expected a YAML mapping with version, window and tables");
    }
    Reader r = new Reader(source);
    r.onlyKeys(
        root,
        "top level",
        "version",
        "tenant_column",
        "window",
        "allowed_lateness",
        "max_event_time_ahead",
        "tables");
    int version = r.positiveInt(root, "version", "top level");
    String tenantColumn = r.ident(root.path("tenant_column").asText("tenant_id"), "tenant_column");
    Duration window = r.duration(root, "window", "top level", null);
    Duration lateness = r.duration(root, "allowed_lateness", "top level", Duration.ZERO);
    Duration ahead = r.duration(root, "max_event_time_ahead", "top level", Duration.ofHours(1));
    if (window.isZero()
        || window.isNegative()
        || Duration.ofDays(1).toMillis() % window.toMillis() != 0) {
      throw new SpecException(
          source
              + ": window "
              + root.path("window").asText()
              + " must be positive and divide a day evenly (for example 1m, 5m, 1h)");
    }
    JsonNode tablesNode = root.path("tables");
    if (!tablesNode.isArray() || tablesNode.isEmpty()) {
      throw new SpecException(source + ": 'tables' must be a non-empty list");
    }
    Map<String, TableSpec> tables = new LinkedHashMap<>();
    Set<String> metricNames = new HashSet<>();
    for (int i = 0; i < tablesNode.size(); i++) {
      TableSpec t = r.table(tablesNode.get(i), i, tenantColumn);
      if (tables.put(t.name(), t) != null) {
        throw new SpecException(
            source + ": tables[" + i + "] (" + t.name() + "): table listed twice");
      }
      for (MetricSpec m : t.metrics()) {
        if (!metricNames.add(m.name())) {
          throw new SpecException(
              source
                  + ": tables["
                  + i
                  + "] ("
                  + t.name()
                  + "): metric '"
                  + m.name()
                  + "' is already defined by another table; metric names are unique");
        }
      }
    }
    return new ExportSpec(source, version, tenantColumn, window, lateness, ahead, tables);
  }

  /**
   * The same spec with other windowing, for demos that cannot wait minutes for a window to close;
   * the export version stays, so use it only where outputs are thrown away.
   */
  public ExportSpec withWindowing(Duration newWindow, Duration newLateness) {
    if (newWindow.isZero()
        || newWindow.isNegative()
        || Duration.ofDays(1).toMillis() % newWindow.toMillis() != 0) {
      throw new SpecException(
          source + ": window " + newWindow + " must be positive and divide a day evenly");
    }
    if (newLateness.isNegative()) {
      throw new SpecException(
          source + ": allowed lateness " + newLateness + " must not be negative");
    }
    return new ExportSpec(
        source + " (window " + newWindow + ", lateness " + newLateness + ")",
        version,
        tenantColumn,
        newWindow,
        newLateness,
        maxEventTimeAhead,
        new LinkedHashMap<>(tables));
  }

  /**
   * The same spec stamping another export version on its outputs: a single-tenant replay writes
   * under a new export version so that its warehouse rows replace the live ones (see {@code
   * WarehouseUpsert}), and an upgrade that changes what is exported declares its own.
   */
  public ExportSpec withVersion(int newVersion) {
    if (newVersion <= 0) {
      throw new SpecException(source + ": export version " + newVersion + " must be positive");
    }
    if (newVersion == version) {
      return this;
    }
    return new ExportSpec(
        source + " (export version " + newVersion + ")",
        newVersion,
        tenantColumn,
        window,
        allowedLateness,
        maxEventTimeAhead,
        new LinkedHashMap<>(tables));
  }

  /** Where the spec was loaded from, for messages. */
  public String source() {
    return source;
  }

  /** The export version stamped on every output. */
  public int version() {
    return version;
  }

  /** Name of the column that carries the tenant id in row images. */
  public String tenantColumn() {
    return tenantColumn;
  }

  public Duration window() {
    return window;
  }

  public Duration allowedLateness() {
    return allowedLateness;
  }

  /**
   * How far an event time may lie after the change's source time; a change beyond it is quarantined
   * ({@code IMPLAUSIBLE_EVENT_TIME}) instead of moving its tenant's clock into the future.
   */
  public Duration maxEventTimeAhead() {
    return maxEventTimeAhead;
  }

  public Map<String, TableSpec> tables() {
    return tables;
  }

  public TableSpec table(String name) {
    return tables.get(name);
  }

  /** Start of the tumbling window holding {@code eventTime} (UTC, aligned to the epoch). */
  public long windowStart(long eventTime) {
    long size = window.toMillis();
    return Math.floorDiv(eventTime, size) * size;
  }

  /** Reads spec entries with messages that name file, entry and problem. */
  private static final class Reader {
    private final String source;

    Reader(String source) {
      this.source = source;
    }

    SpecException error(String entry, String problem) {
      return new SpecException(source + ": " + entry + ": " + problem);
    }

    void onlyKeys(JsonNode node, String entry, String... allowed) {
      Set<String> ok = Set.of(allowed);
      for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        if (!ok.contains(k)) {
          throw error(
              entry, "unknown key '" + k + "' (allowed: " + String.join(", ", allowed) + ")");
        }
      }
    }

    int positiveInt(JsonNode node, String key, String entry) {
      JsonNode v = node.get(key);
      if (v == null || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 1) {
        throw error(
            entry, "'" + key + "' must be a positive integer, got " + (v == null ? "nothing" : v));
      }
      return v.asInt();
    }

    String ident(String value, String entry) {
      if (value == null || !IDENT.matcher(value).matches()) {
        throw error(
            entry, "'" + value + "' is not a valid column or table name (" + IDENT.pattern() + ")");
      }
      return value;
    }

    Duration duration(JsonNode node, String key, String entry, Duration dflt) {
      JsonNode v = node.get(key);
      if (v == null || v.isNull()) {
        if (dflt == null) {
          throw error(entry, "'" + key + "' is required (for example 1m)");
        }
        return dflt;
      }
      Duration d = Durations.parseOrNull(v.asText());
      if (d == null) {
        throw error(
            entry,
            "'"
                + key
                + "' must be a duration like 500ms, 30s, 5m, 2h or 7d, got '"
                + v.asText()
                + "'");
      }
      return d;
    }

    List<String> names(JsonNode node, String key, String entry) {
      JsonNode v = node.get(key);
      List<String> out = new ArrayList<>();
      if (v == null || v.isNull()) {
        return out;
      }
      if (!v.isArray()) {
        throw error(entry, "'" + key + "' must be a list of column names");
      }
      for (JsonNode n : v) {
        out.add(ident(n.asText(), entry + "." + key));
      }
      return out;
    }

    TableSpec table(JsonNode t, int index, String tenantColumn) {
      String entry = "tables[" + index + "]";
      if (!t.isObject()) {
        throw error(entry, "must be a mapping");
      }
      String name = ident(t.path("name").asText(null), entry + ".name");
      entry = entry + " (" + name + ")";
      onlyKeys(
          t,
          entry,
          "name",
          "mode",
          "key",
          "retention",
          "event_time",
          "columns",
          "dimensions",
          "metrics");
      String modeText = t.path("mode").asText("append_only");
      TableSpec.Mode mode;
      switch (modeText) {
        case "append_only":
          mode = TableSpec.Mode.APPEND_ONLY;
          break;
        case "mutable":
          mode = TableSpec.Mode.MUTABLE;
          break;
        default:
          throw error(entry, "mode must be append_only or mutable, got '" + modeText + "'");
      }
      JsonNode colsNode = t.path("columns");
      if (!colsNode.isObject() || colsNode.isEmpty()) {
        throw error(entry, "'columns' must map each exported column to its type");
      }
      Map<String, ColumnSpec> columns = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = colsNode.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String col = ident(e.getKey(), entry + ".columns");
        columns.put(col, column(col, e.getValue(), entry + ".columns." + col));
      }
      if (!columns.containsKey(tenantColumn)) {
        throw error(entry, "columns must include the tenant column '" + tenantColumn + "'");
      }
      List<String> key = names(t, "key", entry);
      Duration retention = duration(t, "retention", entry, Duration.ofDays(30));
      if (mode == TableSpec.Mode.MUTABLE && key.isEmpty()) {
        throw error(
            entry, "a mutable table needs 'key': the primary-key columns that identify a row");
      }
      String eventTime = ident(t.path("event_time").asText(null), entry + ".event_time");
      List<String> dims = names(t, "dimensions", entry);
      for (String c : concat(key, List.of(eventTime), dims)) {
        if (!columns.containsKey(c)) {
          throw error(entry, "column '" + c + "' is used but not declared under 'columns'");
        }
      }
      ColumnType etType = columns.get(eventTime).type();
      if (etType != ColumnType.TIMESTAMP
          && etType != ColumnType.ZONED_TIMESTAMP
          && etType != ColumnType.DATE) {
        throw error(
            entry,
            "event_time column '"
                + eventTime
                + "' must be a timestamp, zoned_timestamp or date, is "
                + etType.name().toLowerCase(Locale.ROOT));
      }
      JsonNode ms = t.path("metrics");
      if (!ms.isArray() || ms.isEmpty()) {
        throw error(entry, "'metrics' must be a non-empty list");
      }
      List<MetricSpec> metrics = new ArrayList<>();
      for (int i = 0; i < ms.size(); i++) {
        JsonNode m = ms.get(i);
        String mEntry = entry + ".metrics[" + i + "]";
        onlyKeys(m, mEntry, "name", "type", "column");
        String mName = ident(m.path("name").asText(null), mEntry + ".name");
        MetricSpec.Kind kind;
        try {
          kind = MetricSpec.Kind.valueOf(m.path("type").asText("").toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
          throw error(
              mEntry,
              "type must be count, sum, min or max, got '" + m.path("type").asText("") + "'");
        }
        String col = m.hasNonNull("column") ? m.get("column").asText() : null;
        if (kind == MetricSpec.Kind.COUNT) {
          if (col != null) {
            throw error(mEntry, "a count metric takes no column");
          }
        } else {
          if (col == null) {
            throw error(
                mEntry, "a " + kind.name().toLowerCase(Locale.ROOT) + " metric needs 'column'");
          }
          ColumnSpec c = columns.get(col);
          if (c == null) {
            throw error(mEntry, "column '" + col + "' is not declared under 'columns'");
          }
          if (!c.type().isNumeric()) {
            throw error(
                mEntry,
                "column '"
                    + col
                    + "' is "
                    + c.type().name().toLowerCase(Locale.ROOT)
                    + ", not numeric (long, double or decimal)");
          }
        }
        metrics.add(new MetricSpec(mName, kind, col));
      }
      return new TableSpec(
          name,
          mode,
          List.copyOf(key),
          retention,
          eventTime,
          Collections.unmodifiableMap(columns),
          List.copyOf(dims),
          List.copyOf(metrics));
    }

    ColumnSpec column(String name, JsonNode node, String entry) {
      String typeText;
      int scale = -1;
      String unit = "ms";
      if (node.isTextual()) {
        typeText = node.asText();
      } else if (node.isObject()) {
        onlyKeys(node, entry, "type", "scale", "unit");
        typeText = node.path("type").asText(null);
        if (typeText == null) {
          throw error(entry, "'type' is required");
        }
        if (node.has("scale")) {
          if (!node.get("scale").isIntegralNumber() || node.get("scale").asInt() < 0) {
            throw error(entry, "'scale' must be a non-negative integer");
          }
          scale = node.get("scale").asInt();
        }
        unit = node.path("unit").asText("ms");
        if (!Set.of("ms", "us", "ns").contains(unit)) {
          throw error(entry, "'unit' must be ms, us or ns, got '" + unit + "'");
        }
      } else {
        throw error(entry, "must be a type name or a mapping with 'type'");
      }
      ColumnType type = ColumnType.parse(typeText, source + ": " + entry);
      if (type == ColumnType.DECIMAL && scale < 0) {
        throw error(
            entry, "a decimal column needs 'scale' (used when the envelope carries no schema)");
      }
      return new ColumnSpec(name, type, scale, unit);
    }

    @SafeVarargs
    private static List<String> concat(List<String>... lists) {
      List<String> out = new ArrayList<>();
      for (List<String> l : lists) {
        out.addAll(l);
      }
      return out;
    }
  }
}
