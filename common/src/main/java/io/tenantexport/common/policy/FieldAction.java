package io.tenantexport.common.policy;

import java.math.BigDecimal;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What happens to one column's value before it leaves the job (see {@link Redactor} for the exact
 * output of each action). A null value stays null whatever the action.
 *
 * <p>The records validate their parameters; the parser reports bad parameters as {@link
 * PolicyProblem}s with a line number before it gets here.
 */
public sealed interface FieldAction
    permits FieldAction.Keep,
        FieldAction.Drop,
        FieldAction.Mask,
        FieldAction.Hash,
        FieldAction.Generalize,
        FieldAction.Bucket {

  /** Key ids a {@code hash} rule may name. */
  Pattern KEY_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  Keep KEEP = new Keep();
  Drop DROP = new Drop();

  /** The action's word in a policy file: keep, drop, mask, hash, generalize or bucket. */
  String action();

  /** The value leaves the job unchanged. */
  record Keep() implements FieldAction {
    @Override
    public String action() {
      return "keep";
    }
  }

  /** The value is replaced by null; the column stays in the image. */
  record Drop() implements FieldAction {
    @Override
    public String action() {
      return "drop";
    }
  }

  /**
   * {@code ***} followed by the last {@code keepLast} code points; just {@code ***} when the value
   * has {@code keepLast} code points or fewer.
   */
  record Mask(int keepLast) implements FieldAction {
    public Mask {
      if (keepLast < 0) {
        throw new IllegalArgumentException("mask keep_last must be >= 0, got " + keepLast);
      }
    }

    @Override
    public String action() {
      return "mask";
    }
  }

  /**
   * Lower-case hex of HMAC-SHA256 over the value's UTF-8 bytes, with the tenant's own key {@code
   * keyId}. The policy holds the key id only, never key material.
   */
  record Hash(String keyId) implements FieldAction {
    public Hash {
      if (keyId == null || !KEY_ID.matcher(keyId).matches()) {
        throw new IllegalArgumentException("hash key id must match " + KEY_ID.pattern());
      }
    }

    @Override
    public String action() {
      return "hash";
    }
  }

  /**
   * A timestamp truncated to the start of its hour or day (UTC); {@link ChronoUnit#DAYS} also
   * applies to dates, which it leaves as they are.
   */
  record Generalize(ChronoUnit to) implements FieldAction {
    public Generalize {
      if (to != ChronoUnit.HOURS && to != ChronoUnit.DAYS) {
        throw new IllegalArgumentException("generalize to must be HOURS or DAYS, got " + to);
      }
    }

    @Override
    public String action() {
      return "generalize";
    }
  }

  /** A number floored to a multiple of {@code width} (long and decimal columns). */
  record Bucket(BigDecimal width) implements FieldAction {
    public Bucket {
      Objects.requireNonNull(width, "width");
      if (width.signum() <= 0) {
        throw new IllegalArgumentException(
            "bucket width must be positive, got " + width.toPlainString());
      }
    }

    @Override
    public String action() {
      return "bucket";
    }
  }
}
