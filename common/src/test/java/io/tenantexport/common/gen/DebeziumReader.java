package io.tenantexport.common.gen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.spec.ColumnSpec;
import io.tenantexport.common.spec.TableSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A deliberately simple, independent reading of generated envelopes for the tests: unwraps the
 * optional schema wrapper and renders the spec's columns canonically, by the envelope's schema when
 * it has one and by the spec's declared types otherwise. It shares no code with the generator, so
 * that a generator bug cannot hide behind a matching decoder bug.
 */
final class DebeziumReader {
  static final ObjectMapper JSON = new ObjectMapper();

  /** A parsed value: its payload and, when wrapped, its Connect schema. */
  record Parsed(JsonNode payload, JsonNode schema) {
    boolean wrapped() {
      return schema != null;
    }

    /**
     * The Connect schema of the row struct named {@code field} (before or after), by column name.
     */
    Map<String, JsonNode> rowSchema(String field) {
      Map<String, JsonNode> out = new HashMap<>();
      for (JsonNode f : schema.path("fields")) {
        if (f.path("field").asText().equals(field)) {
          for (JsonNode col : f.path("fields")) {
            out.put(col.path("field").asText(), col);
          }
        }
      }
      return out;
    }
  }

  private DebeziumReader() {}

  static JsonNode tree(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Parsed parse(byte[] value) {
    JsonNode root = tree(value);
    if (root.has("schema") && root.has("payload")) {
      return new Parsed(root.get("payload"), root.get("schema"));
    }
    return new Parsed(root, null);
  }

  /**
   * The canonical projection of {@code payload.<field>} to the spec's columns, or null if JSON
   * null.
   */
  static Map<String, String> image(Parsed parsed, String field, TableSpec spec) {
    JsonNode row = parsed.payload().path(field);
    if (row.isNull() || row.isMissingNode()) {
      return null;
    }
    Map<String, JsonNode> schema = parsed.wrapped() ? parsed.rowSchema(field) : Map.of();
    Map<String, String> out = new LinkedHashMap<>();
    for (ColumnSpec col : spec.columns().values()) {
      JsonNode v = row.path(col.name());
      out.put(
          col.name(),
          v.isNull() || v.isMissingNode()
              ? null
              : parsed.wrapped() ? bySchema(schema.get(col.name()), v) : bySpec(col, v));
    }
    return out;
  }

  private static String bySchema(JsonNode fieldSchema, JsonNode v) {
    switch (fieldSchema.path("name").asText("")) {
      case "org.apache.kafka.connect.data.Decimal":
        return decimal(
            v.asText(), Integer.parseInt(fieldSchema.path("parameters").path("scale").asText()));
      case "io.debezium.time.MicroTimestamp":
        return micros(v.asLong());
      case "io.debezium.time.Timestamp":
        return Instant.ofEpochMilli(v.asLong()).toString();
      case "io.debezium.time.Date":
        return LocalDate.ofEpochDay(v.asLong()).toString();
      default:
        return fieldSchema.path("type").asText().startsWith("int")
            ? Long.toString(v.asLong())
            : v.asText();
    }
  }

  private static String bySpec(ColumnSpec col, JsonNode v) {
    switch (col.type()) {
      case DECIMAL:
        return decimal(v.asText(), col.scale());
      case TIMESTAMP:
        return "us".equals(col.unit())
            ? micros(v.asLong())
            : Instant.ofEpochMilli(v.asLong()).toString();
      case DATE:
        return LocalDate.ofEpochDay(v.asLong()).toString();
      case LONG:
        return Long.toString(v.asLong());
      default:
        return v.asText();
    }
  }

  static String decimal(String base64, int scale) {
    return new BigDecimal(new BigInteger(Base64.getDecoder().decode(base64)), scale)
        .toPlainString();
  }

  private static String micros(long us) {
    return Instant.ofEpochSecond(
            Math.floorDiv(us, 1_000_000L), Math.floorMod(us, 1_000_000L) * 1000L)
        .toString();
  }
}
