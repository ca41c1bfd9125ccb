package io.tenantexport.common.policy;

import java.util.List;

/** Policies that cannot be used; the message lists every problem, one per line. */
public final class PolicyException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final List<PolicyProblem> problems;

  public PolicyException(String headline, List<PolicyProblem> problems) {
    super(message(headline, problems));
    this.problems = List.copyOf(problems);
  }

  /** The problems, in the order of the message. */
  public List<PolicyProblem> problems() {
    return problems;
  }

  private static String message(String headline, List<PolicyProblem> problems) {
    StringBuilder sb = new StringBuilder(headline);
    for (PolicyProblem p : problems) {
      sb.append('\n').append(p);
    }
    return sb.toString();
  }
}
