package io.tenantexport.common.policy;

import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The tenant policies in force, and the rule that decides whether an offered document replaces one:
 * it must parse and validate against the export spec, be published under its own tenant, and carry
 * a version above the one in force. An identical document at the same version is a no-op (a restart
 * offers the policy folder and the restored documents again); anything else is rejected and the
 * policy in force stays.
 *
 * <p>Every operator that needs policies keeps its own book, fed with the same documents in the same
 * order (the policy folder, then the broadcast state, then control-topic updates). The decision is
 * a function of the documents and the spec alone (nothing local, such as which keys a machine has),
 * so every parallel instance of every operator reaches the same one. Not thread-safe.
 */
public final class PolicyBook {
  private final ExportSpec spec;
  private final Map<String, TenantPolicy> policies = new HashMap<>();

  public PolicyBook(ExportSpec spec) {
    this.spec = spec;
  }

  /** What became of an offered document. */
  public sealed interface Outcome {
    /** The document is now in force; {@code previousVersion} is 0 when the tenant had none. */
    record Applied(TenantPolicy policy, long previousVersion) implements Outcome {}

    /** The same document at the same version was already in force. */
    record Unchanged(TenantPolicy policy) implements Outcome {}

    /**
     * Refused; the policy in force (if any) stays. {@code tenant} is the claimed tenant when it was
     * a valid id, else null; {@code version} the document's version when it had one, else 0.
     */
    record Rejected(String tenant, long version, String reason) implements Outcome {}
  }

  /**
   * Offers a document published for {@code publishedFor} (the control record's key, or the policy
   * file's stem).
   */
  public Outcome offer(String publishedFor, String text, String origin) {
    String claimed = TenantId.isValid(publishedFor) ? publishedFor : null;
    if (claimed == null) {
      return new Outcome.Rejected(
          null,
          0,
          origin + ": published for " + TenantId.describe(publishedFor) + ", not a tenant id");
    }
    PolicyParser.ParseResult parsed = PolicyParser.parse(text, origin, spec);
    if (parsed instanceof PolicyParser.ParseResult.Invalid invalid) {
      return new Outcome.Rejected(
          claimed,
          0,
          invalid.problems().stream()
              .map(PolicyProblem::toString)
              .collect(Collectors.joining("; ")));
    }
    TenantPolicy p = ((PolicyParser.ParseResult.Ok) parsed).policy();
    String tenant = p.tenant().value();
    if (!tenant.equals(claimed)) {
      return new Outcome.Rejected(
          claimed,
          p.version(),
          origin + ": published for tenant " + claimed + " but the document is tenant " + tenant);
    }
    TenantPolicy current = policies.get(tenant);
    if (current != null) {
      if (p.version() < current.version()) {
        return new Outcome.Rejected(
            tenant,
            p.version(),
            origin
                + ": version "
                + p.version()
                + " is older than version "
                + current.version()
                + " in force");
      }
      if (p.version() == current.version()) {
        // Content, not text, as the lint compares: a comment or layout change is no new policy.
        if (current.sameContent(p)) {
          return new Outcome.Unchanged(current);
        }
        return new Outcome.Rejected(
            tenant,
            p.version(),
            origin
                + ": version "
                + p.version()
                + " is already in force with different content; raise the version");
      }
    }
    policies.put(tenant, p);
    return new Outcome.Applied(p, current == null ? 0 : current.version());
  }

  /** Offers every document, in order, ignoring outcomes; returns the rejections. */
  public List<Outcome.Rejected> offerAll(Map<String, String> documentsByTenant, String folder) {
    return documentsByTenant.entrySet().stream()
        .map(e -> offer(e.getKey(), e.getValue(), folder + "/" + e.getKey() + ".yaml"))
        .filter(Outcome.Rejected.class::isInstance)
        .map(Outcome.Rejected.class::cast)
        .toList();
  }

  /** The spec documents are validated against. */
  public ExportSpec spec() {
    return spec;
  }

  /** The policy in force for {@code tenant}, or null. */
  public TenantPolicy get(String tenant) {
    return tenant == null ? null : policies.get(tenant);
  }
}
