package io.tenantexport.common.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TenantIdTest {
  /** The documented rule, as the pattern states it: what the hand-written check must equal. */
  private static boolean byPattern(String raw) {
    return raw != null
        && raw.length() <= TenantId.MAX_LENGTH
        && TenantId.PATTERN.matcher(raw).matches();
  }

  @Test
  void everyCharacterIsJudgedAsThePatternJudgesIt() {
    for (int c = 0; c <= 0xFFFF; c++) {
      String one = String.valueOf((char) c);
      String later = "a" + (char) c;
      assertThat(TenantId.isValid(one)).as("U+%04X first", c).isEqualTo(byPattern(one));
      assertThat(TenantId.isValid(later)).as("U+%04X later", c).isEqualTo(byPattern(later));
    }
  }

  @Test
  void randomStringsNearTheRulesEdgesAreJudgedAsThePatternJudgesThem() {
    // Letters, digits, the two allowed marks and their neighbours in ASCII, separators, quotes,
    // upper case and look-alikes (dotless i, fullwidth a, Cyrillic a, combining acute).
    char[] alphabet = "az09_-`{/:@[^.\\'\" \tAZ\u0131\uff41\u0430\u0301\u0000".toCharArray();
    SplittableRandom random = new SplittableRandom(7);
    int valid = 0;
    for (int n = 0; n < 200_000; n++) {
      int length = random.nextInt(TenantId.MAX_LENGTH + 4);
      StringBuilder sb = new StringBuilder(length);
      for (int i = 0; i < length; i++) {
        // Mostly allowed characters, so that long valid ids and late refusals both occur.
        sb.append(
            random.nextInt(10) < 8
                ? alphabet[random.nextInt(6)]
                : alphabet[random.nextInt(alphabet.length)]);
      }
      String raw = sb.toString();
      assertThat(TenantId.isValid(raw)).as("%s", TenantId.describe(raw)).isEqualTo(byPattern(raw));
      valid += byPattern(raw) ? 1 : 0;
    }
    assertThat(valid).as("valid ids among the random strings").isBetween(1_000, 199_000);
  }

  @Test
  void hostileIdsAreRefusedWithTheirProblem() {
    List<String> problems = new ArrayList<>();
    for (String raw :
        new String[] {
          null,
          "",
          "a".repeat(65),
          "../x",
          "a/b",
          "a\\b",
          "x'y",
          "x\"y",
          "Acme",
          "-a",
          "_a",
          "a b",
          "acm\u0435"
        }) {
      problems.add(TenantId.problem(raw));
    }
    assertThat(problems)
        .containsExactly(
            "missing",
            "empty",
            "longer than 64 characters (65)",
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern(),
            "must match " + TenantId.PATTERN.pattern());
    assertThat(TenantId.of("a".repeat(64), "test").value()).hasSize(64);
    assertThat(TenantId.of("t00-acme_2", "test").value()).isEqualTo("t00-acme_2");
    assertThatThrownBy(() -> TenantId.of("a/b", "record key of orders/0@17"))
        .isInstanceOf(InvalidTenantIdException.class)
        .hasMessageContaining("\"a/b\"")
        .hasMessageContaining("record key of orders/0@17");
  }
}
