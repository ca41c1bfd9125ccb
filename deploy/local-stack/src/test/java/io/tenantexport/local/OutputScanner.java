package io.tenantexport.local;

import io.tenantexport.local.infra.LocalKafka;
import io.tenantexport.local.infra.LocalWarehouse;
import io.tenantexport.local.inspect.LakeFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.avro.generic.IndexedRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * Looks for a canary marker in everything the job leaves behind, as raw bytes: files (recursively),
 * Kafka records (key, value and headers), the warehouse's tables as text, the lake's values as
 * parquet-avro reads them back.
 *
 * <p>A marker can hide in an encoding, so besides its ASCII bytes the scanner looks for its UTF-16
 * forms, its hex digits and its Base64 and Base64url forms at each of the three byte alignments:
 * plaintext that was merely encoded (a payload put into JSON as Base64, a hex dump in a log line)
 * is still found. It cannot see into compressed or encrypted bytes; that is why every store is also
 * read back through its own reader where it has one.
 */
final class OutputScanner {
  private static final Pattern MARKER = Pattern.compile("[A-Za-z0-9]{4,32}");

  /** Where the marker was found, in which encoding, with a little context to see what leaked. */
  record Finding(String where, String encoding, long offset, String context) {
    @Override
    public String toString() {
      return where + " @" + offset + " (" + encoding + "): …" + context + "…";
    }
  }

  private final String marker;

  /** Searched for: encoding name → the bytes as ISO-8859-1 text (one char per byte). */
  private final Map<String, String> needles = new LinkedHashMap<>();

  OutputScanner(String marker) {
    if (marker == null || !MARKER.matcher(marker).matches()) {
      throw new IllegalArgumentException("marker must be 4 to 32 letters or digits: " + marker);
    }
    this.marker = marker;
    byte[] ascii = marker.getBytes(StandardCharsets.US_ASCII);
    needle("ascii", latin1(ascii));
    needle("utf-16be", latin1(marker.getBytes(StandardCharsets.UTF_16BE)));
    needle("utf-16le", latin1(marker.getBytes(StandardCharsets.UTF_16LE)));
    needle("hex", HexFormat.of().formatHex(ascii));
    needle("HEX", HexFormat.of().withUpperCase().formatHex(ascii));
    for (int shift = 0; shift < 3; shift++) {
      needle("base64/" + shift, base64Core(Base64.getEncoder(), ascii, shift));
      needle("base64url/" + shift, base64Core(Base64.getUrlEncoder(), ascii, shift));
    }
  }

  /** Adds a needle unless another encoding already gives the same bytes. */
  private void needle(String encoding, String bytes) {
    if (!needles.containsValue(bytes)) {
      needles.put(encoding, bytes);
    }
  }

  /** The encodings searched for, by name. */
  Map<String, String> needles() {
    return Map.copyOf(needles);
  }

  String marker() {
    return marker;
  }

  /**
   * The Base64 characters that depend on the marker's bits alone when the marker starts {@code
   * shift} bytes after a 3-byte boundary: present in any Base64 text of any data holding the marker
   * at that alignment.
   */
  private static String base64Core(Base64.Encoder encoder, byte[] marker, int shift) {
    byte[] data = new byte[shift + marker.length + 3];
    System.arraycopy(marker, 0, data, shift, marker.length);
    String encoded = encoder.encodeToString(data);
    int firstBit = 8 * shift;
    int endBit = 8 * (shift + marker.length);
    int first = (firstBit + 5) / 6;
    int end = endBit / 6;
    return encoded.substring(first, end);
  }

  /** Every occurrence in {@code bytes}, named {@code where}. */
  List<Finding> scan(String where, byte[] bytes) {
    List<Finding> found = new ArrayList<>();
    if (bytes == null || bytes.length == 0) {
      return found;
    }
    String text = latin1(bytes);
    for (Map.Entry<String, String> n : needles.entrySet()) {
      for (int at = text.indexOf(n.getValue()); at >= 0; at = text.indexOf(n.getValue(), at + 1)) {
        found.add(new Finding(where, n.getKey(), at, context(bytes, at, n.getValue().length())));
      }
    }
    return found;
  }

  /** Every occurrence in {@code text}'s UTF-8 bytes. */
  List<Finding> scan(String where, String text) {
    return text == null ? List.of() : scan(where, text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Every occurrence in the raw bytes of every regular file under {@code root}, recursively. A file
   * that vanishes meanwhile (a running job discards subsumed checkpoints) is skipped.
   */
  List<Finding> scanFiles(Path root) {
    List<Finding> found = new ArrayList<>();
    for (Path file : LakeFiles.allFiles(root)) {
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(file);
      } catch (NoSuchFileException e) {
        continue;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
      found.addAll(scan(file.toString(), bytes));
    }
    return found;
  }

  /**
   * The lake twice: every file's raw bytes (committed, in-progress and pending alike), and every
   * value of every committed file as parquet-avro reads it back (Parquet may store a string in a
   * dictionary page or compressed, where the raw scan cannot see it).
   */
  List<Finding> scanLake(Path lakeRoot) {
    List<Finding> found = new ArrayList<>(scanFiles(lakeRoot));
    for (LakeFiles.Row row : LakeFiles.readAll(lakeRoot)) {
      String where = row.file() + " row " + row.record().get("event_id");
      scanValue(where, row.record(), found);
    }
    return found;
  }

  private void scanValue(String where, Object value, List<Finding> found) {
    if (value == null) {
      return;
    }
    if (value instanceof IndexedRecord r) {
      for (var field : r.getSchema().getFields()) {
        scanValue(where + "." + field.name(), r.get(field.pos()), found);
      }
    } else if (value instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) {
        scanValue(where + "[key]", e.getKey(), found);
        scanValue(where + "[" + e.getKey() + "]", e.getValue(), found);
      }
    } else if (value instanceof Collection<?> c) {
      for (Object o : c) {
        scanValue(where + "[]", o, found);
      }
    } else if (value instanceof ByteBuffer b) {
      ByteBuffer d = b.duplicate();
      byte[] bytes = new byte[d.remaining()];
      d.get(bytes);
      found.addAll(scan(where, bytes));
    } else if (value instanceof byte[] bytes) {
      found.addAll(scan(where, bytes));
    } else {
      found.addAll(scan(where, value.toString()));
    }
  }

  /**
   * Every table of {@code schema} dumped as text ({@code SELECT t::text FROM schema.table t}), each
   * row scanned; also returns nothing for a schema without tables, so callers check the table count
   * themselves with {@link #tables}.
   */
  List<Finding> scanWarehouse(LocalWarehouse warehouse, String schema) throws SQLException {
    List<Finding> found = new ArrayList<>();
    try (Connection c = warehouse.connect();
        Statement s = c.createStatement()) {
      for (String table : tables(c, schema)) {
        String qualified = quoteIdent(schema) + "." + quoteIdent(table);
        try (ResultSet rs = s.executeQuery("SELECT t::text FROM " + qualified + " t")) {
          long row = 0;
          while (rs.next()) {
            found.addAll(scan(schema + "." + table + " row " + row++, rs.getString(1)));
          }
        }
      }
    }
    return found;
  }

  /** The tables of {@code schema}, sorted. */
  static List<String> tables(Connection c, String schema) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (var ps =
        c.prepareStatement(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
                + " AND table_type = 'BASE TABLE' ORDER BY table_name")) {
      ps.setString(1, schema);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
    }
    return tables;
  }

  /**
   * The raw key, value and header bytes of every record of {@code topic}, read uncommitted: records
   * of aborted or still open transactions count too.
   */
  List<Finding> scanTopic(LocalKafka kafka, String topic) {
    List<Finding> found = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : kafka.readAll(topic, false, Duration.ofSeconds(60))) {
      String where = r.topic() + "/" + r.partition() + "@" + r.offset();
      found.addAll(scan(where + " key", r.key()));
      found.addAll(scan(where + " value", r.value()));
      for (Header h : r.headers()) {
        found.addAll(scan(where + " header " + h.key(), h.key()));
        found.addAll(scan(where + " header " + h.key(), h.value()));
      }
    }
    return found;
  }

  private static String quoteIdent(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  private static String latin1(byte[] bytes) {
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }

  /** Up to 40 bytes either side, printable ASCII kept, anything else as '.'. */
  private static String context(byte[] bytes, int at, int length) {
    int from = Math.max(0, at - 40);
    int to = Math.min(bytes.length, at + length + 40);
    StringBuilder sb = new StringBuilder();
    for (int i = from; i < to; i++) {
      int b = bytes[i] & 0xff;
      sb.append(b >= 0x20 && b < 0x7f ? (char) b : '.');
    }
    return sb.toString();
  }
}
