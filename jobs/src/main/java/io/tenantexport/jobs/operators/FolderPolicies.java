package io.tenantexport.jobs.operators;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.InflaterInputStream;

/**
 * The policy folder's documents (file stem → YAML text) as the operators that follow policies carry
 * them into the job graph: deflated.
 *
 * <p>Why: every such operator is built with the whole folder, and the job graph holds one copy per
 * operator. With 100,000 tenants the folder is some 60 MB of text, serialized twice into a graph
 * the JobManager builds and ships; the documents of a fleet are nearly alike (most differ only by
 * the tenant id), so deflated they are a small fraction of that (FolderPoliciesTest: under a tenth
 * for 10,000 documents). Inflated once in {@code open()}, where the operator builds its {@code
 * PolicyBook} from them. Immutable.
 */
final class FolderPolicies implements Serializable {
  private static final long serialVersionUID = 1L;

  private final byte[] deflated;
  private final int count;

  FolderPolicies(Map<String, String> documents) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(new DeflaterOutputStream(bytes))) {
      for (Map.Entry<String, String> e : new TreeMap<>(documents).entrySet()) {
        writeString(out, e.getKey());
        writeString(out, e.getValue());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot deflate the policy folder's documents", e);
    }
    this.deflated = bytes.toByteArray();
    this.count = documents.size();
  }

  /** The documents by file stem, sorted. */
  Map<String, String> documents() {
    Map<String, String> out = new TreeMap<>();
    try (DataInputStream in =
        new DataInputStream(new InflaterInputStream(new ByteArrayInputStream(deflated)))) {
      for (int i = 0; i < count; i++) {
        out.put(readString(in), readString(in));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot inflate the policy folder's documents", e);
    }
    return Collections.unmodifiableMap(out);
  }

  // writeUTF is limited to 64 KiB; a policy document may be up to PolicyFolder's 1 MiB.
  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    return new String(b, java.nio.charset.StandardCharsets.UTF_8);
  }
}
