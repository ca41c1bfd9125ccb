package io.tenantexport.common.policy;

import java.io.Serializable;
import java.util.Comparator;
import java.util.Objects;

/**
 * One thing wrong with a policy document.
 *
 * @param file the document: a path relative to the policy folder (e.g. {@code t00-acme.yaml}), or
 *     the source given to the parser
 * @param line 1-based line of the offending value; 0 when the problem concerns the file or folder
 *     as a whole (cannot be read, not UTF-8)
 * @param cause what is wrong, naming the offending value (policy text, never data or keys)
 */
public record PolicyProblem(String file, int line, String cause) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** By file, then line; the order lint reports problems in. */
  public static final Comparator<PolicyProblem> ORDER =
      Comparator.comparing(PolicyProblem::file).thenComparingInt(PolicyProblem::line);

  public PolicyProblem {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(cause, "cause");
  }

  /** {@code file:line: cause}, the form compilers use, so editors can jump to it. */
  @Override
  public String toString() {
    return file + ":" + line + ": " + cause;
  }
}
