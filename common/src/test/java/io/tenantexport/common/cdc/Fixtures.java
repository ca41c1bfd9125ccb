package io.tenantexport.common.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.schemas.ChangeEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Envelopes, keys and records for the decoder tests; resources live under {@code cdc/}. */
final class Fixtures {
  static final ObjectMapper JSON = new ObjectMapper();
  static final ExportSpec SPEC =
      ExportSpec.parse(text("test-export-spec.yaml"), "cdc/test-export-spec.yaml");
  static final long KAFKA_TS = 1_700_000_000_000L;
  static final String ORDERS_TOPIC = "cdc.public.orders";
  static final String PAGE_VIEWS_TOPIC = "cdc.public.page_views";
  static final String INVOICES_TOPIC = "cdc.billing.invoices";

  private Fixtures() {}

  static String text(String resource) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/cdc/" + resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource cdc/" + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A fresh, mutable copy of a JSON resource. */
  static ObjectNode json(String resource) {
    try {
      return (ObjectNode) JSON.readTree(text(resource));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("test resource cdc/" + resource + " is not JSON", e);
    }
  }

  /** The object at a JSON pointer, e.g. {@code "/payload/after"}. */
  static ObjectNode obj(JsonNode root, String pointer) {
    JsonNode n = root.at(pointer);
    assertThat(n.isObject()).as("object at %s", pointer).isTrue();
    return (ObjectNode) n;
  }

  /** The payload of an envelope, wrapped or not. */
  static ObjectNode payload(ObjectNode envelope) {
    return envelope.has("payload") ? (ObjectNode) envelope.get("payload") : envelope;
  }

  /**
   * Wraps a schemaless payload the way JsonConverter does with schemas enabled, with before/after
   * field schemas.
   */
  static ObjectNode wrap(ObjectNode payload, ArrayNode rowFields) {
    ObjectNode schema = JSON.createObjectNode().put("type", "struct");
    ArrayNode fields = schema.putArray("fields");
    for (String image : new String[] {"before", "after"}) {
      ObjectNode struct = fields.addObject().put("type", "struct");
      struct.set("fields", rowFields.deepCopy());
      struct.put("optional", true).put("name", "cdc.public.t.Value").put("field", image);
    }
    fields.addObject().put("type", "string").put("optional", false).put("field", "op");
    schema.put("optional", false).put("name", "cdc.public.t.Envelope");
    ObjectNode root = JSON.createObjectNode();
    root.set("schema", schema);
    root.set("payload", payload);
    return root;
  }

  /** A Connect field schema: {@code {"type":type,"optional":true,"name":name?,"field":field}}. */
  static ObjectNode field(ArrayNode fields, String field, String type, String name) {
    ObjectNode f = fields.addObject().put("type", type).put("optional", true);
    if (name != null) {
      f.put("name", name).put("version", 1);
    }
    return f.put("field", field);
  }

  static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  static RawRecord record(String topic, int partition, long offset, byte[] key, byte[] value) {
    return new RawRecord(topic, partition, offset, KAFKA_TS, key, value);
  }

  static RawRecord record(String topic, long offset, String plainKey, JsonNode value) {
    return record(topic, 0, offset, utf8(plainKey), bytes(value));
  }

  static RawRecord record(String topic, long offset, JsonNode key, JsonNode value) {
    return record(topic, 0, offset, bytes(key), bytes(value));
  }

  /**
   * The event as text without its raw bytes, which alone may (by design) hold undeclared columns.
   */
  static String withoutRawBytes(ChangeEvent e) {
    return ChangeEvent.newBuilder(e).setRawKey(null).setRawValue(null).build().toString();
  }
}
