package io.tenantexport.jobs.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Renders the job's Avro records as plain JSON for the Kafka topics (audit, quarantine), so that
 * consumers need no Avro: field names as in the schema, timestamps as ISO-8601 UTC, bytes as
 * base64, unions as their value (not Avro's {"type": value} wrapping).
 */
public final class AvroJson {
  private static final JsonFactory JSON = new JsonFactory();

  private AvroJson() {}

  public static byte[] toJson(SpecificRecordBase record) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      g.writeStartObject();
      for (Schema.Field f : record.getSchema().getFields()) {
        g.writeFieldName(f.name());
        write(g, record.get(f.pos()));
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot render " + record.getSchema().getName() + " as JSON", e);
    }
    return bytes.toByteArray();
  }

  private static void write(JsonGenerator g, Object v) throws IOException {
    if (v == null) {
      g.writeNull();
    } else if (v instanceof CharSequence || v instanceof Enum<?>) {
      g.writeString(v.toString());
    } else if (v instanceof Instant i) {
      g.writeString(i.toString());
    } else if (v instanceof Long l) {
      g.writeNumber(l);
    } else if (v instanceof Integer i) {
      g.writeNumber(i);
    } else if (v instanceof Boolean b) {
      g.writeBoolean(b);
    } else if (v instanceof Double d) {
      g.writeNumber(d);
    } else if (v instanceof ByteBuffer b) {
      ByteBuffer dup = b.duplicate();
      byte[] arr = new byte[dup.remaining()];
      dup.get(arr);
      g.writeString(Base64.getEncoder().encodeToString(arr));
    } else if (v instanceof Map<?, ?> m) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        g.writeFieldName(e.getKey().toString());
        write(g, e.getValue());
      }
      g.writeEndObject();
    } else if (v instanceof List<?> l) {
      g.writeStartArray();
      for (Object o : l) {
        write(g, o);
      }
      g.writeEndArray();
    } else if (v instanceof SpecificRecordBase r) {
      g.writeRawValue(new String(toJson(r), StandardCharsets.UTF_8));
    } else {
      throw new IllegalArgumentException("no JSON rendering for " + v.getClass().getName());
    }
  }
}
