package io.tenantexport.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class IdsTest {
  /** The documented rule, computed with a digest of its own. */
  private static String byRule(String... parts) throws Exception {
    ByteArrayOutputStream in = new ByteArrayOutputStream();
    for (String p : parts) {
      if (p != null) {
        in.writeBytes(p.getBytes(StandardCharsets.UTF_8));
      }
      in.write(0x1f);
    }
    byte[] d = MessageDigest.getInstance("SHA-256").digest(in.toByteArray());
    return HexFormat.of().formatHex(d, 0, 16);
  }

  private static String[] randomParts(SplittableRandom r) {
    String[] parts = new String[r.nextInt(0, 6)];
    for (int i = 0; i < parts.length; i++) {
      parts[i] = r.nextInt(8) == 0 ? null : Long.toString(r.nextLong(), 36) + "é";
    }
    return parts;
  }

  @Test
  void anIdIsTheFirstHalfOfTheSha256OfItsSeparatedParts() throws Exception {
    assertThat(Ids.of("tenant-a", "orders", "42")).isEqualTo(byRule("tenant-a", "orders", "42"));
    assertThat(Ids.of()).isEqualTo(byRule()).hasSize(32);
    // A null part counts as empty, and the separator keeps ("ab", "") apart from ("a", "b").
    assertThat(Ids.of("a", null)).isEqualTo(Ids.of("a", "")).isEqualTo(byRule("a", ""));
    assertThat(Ids.of("ab", "")).isNotEqualTo(Ids.of("a", "b"));
  }

  @Test
  void idsComputedOneAfterAnotherAndOnManyThreadsFollowTheRule() throws Exception {
    // Ids.of keeps one digest per thread: no call may see what an earlier one hashed.
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<List<String[]>>> mismatches = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        long seed = t;
        mismatches.add(
            pool.submit(
                () -> {
                  SplittableRandom r = new SplittableRandom(seed);
                  List<String[]> wrong = new ArrayList<>();
                  for (int i = 0; i < 5_000; i++) {
                    String[] parts = randomParts(r);
                    if (!Ids.of(parts).equals(byRule(parts))) {
                      wrong.add(parts);
                    }
                  }
                  return wrong;
                }));
      }
      for (Future<List<String[]>> f : mismatches) {
        assertThat(f.get()).isEmpty();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
