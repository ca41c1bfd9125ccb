package io.tenantexport.common.policy;

import io.tenantexport.common.policy.PolicyParser.Document;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks a policy folder before it is deployed (CI) and when the job loads it.
 *
 * <p>Reports, as one {@link PolicyProblem} each with the file (relative to the folder) and 1-based
 * line: every problem of a single document ({@link PolicyParser}); a file whose name is not its
 * {@code tenant:} value; two files for the same tenant; any other string in a document that is the
 * id of another tenant of the folder (a policy may only talk about its own tenant); with a previous
 * folder (the policies deployed now), a tenant whose version went down, or whose content changed
 * while its version stayed. Tenants only in the previous folder are not a problem (without a policy
 * nothing of a tenant is exported). A folder without policy files is a problem: the path is most
 * likely wrong.
 *
 * <p>Never throws for bad input: unreadable folders and files, invalid UTF-8 and garbage YAML are
 * problems too.
 */
public final class PolicyLint {
  private PolicyLint() {}

  /**
   * The problems of {@code folder}, by file and line; empty when the folder is fit to deploy.
   *
   * @param previousFolderOrNull the policies in force, to check that versions only go up; null to
   *     skip that check
   */
  public static List<PolicyProblem> lint(Path folder, ExportSpec spec, Path previousFolderOrNull) {
    return check(folder, spec, previousFolderOrNull).problems();
  }

  /**
   * Problems, and the policies by tenant when there are none (empty otherwise).
   *
   * @param policies each with its file's path as source
   */
  record Result(List<PolicyProblem> problems, Map<TenantId, TenantPolicy> policies) {}

  static Result check(Path folder, ExportSpec spec, Path previous) {
    List<PolicyProblem> problems = new ArrayList<>();
    Map<String, String> texts = PolicyFolder.read(folder, problems);
    if (texts == null) {
      return new Result(List.copyOf(problems), Map.of());
    }
    if (texts.isEmpty() && problems.isEmpty()) {
      problems.add(
          new PolicyProblem(
              folder.toString(), 0, "no policy files (<tenant-id>.yaml) in the folder"));
    }
    Map<String, Document> docs = parseAll(texts, spec, problems);

    Set<String> tenantIds = new HashSet<>();
    for (Map.Entry<String, Document> e : docs.entrySet()) {
      String stem = PolicyFolder.stem(e.getKey());
      if (TenantId.isValid(stem)) {
        tenantIds.add(stem);
      }
      if (e.getValue().tenant() != null) {
        tenantIds.add(e.getValue().tenant());
      }
    }

    Map<String, List<String>> filesByTenant = new LinkedHashMap<>();
    for (Map.Entry<String, Document> e : docs.entrySet()) {
      String file = e.getKey();
      String stem = PolicyFolder.stem(file);
      Document d = e.getValue();
      if (d.tenant() != null) {
        filesByTenant.computeIfAbsent(d.tenant(), t -> new ArrayList<>()).add(file);
        if (!d.tenant().equals(stem)) {
          problems.add(
              new PolicyProblem(
                  file,
                  d.tenantLine(),
                  "names tenant "
                      + d.tenant()
                      + " but the file is "
                      + (TenantId.isValid(stem) ? file : TenantId.describe(file))
                      + " (a tenant's policy is <tenant-id>.yaml)"));
        }
      }
      for (PolicyParser.Scalar s : d.scalars()) {
        if (tenantIds.contains(s.value())
            && !s.value().equals(d.tenant())
            && !s.value().equals(stem)) {
          problems.add(
              new PolicyProblem(
                  file,
                  s.line(),
                  "names another tenant "
                      + s.value()
                      + ": a policy may only refer to its own tenant"));
        }
      }
    }
    for (Map.Entry<String, List<String>> e : filesByTenant.entrySet()) {
      List<String> files = e.getValue();
      if (files.size() < 2) {
        continue;
      }
      for (String file : files) {
        List<String> others = new ArrayList<>(files);
        others.remove(file);
        problems.add(
            new PolicyProblem(
                file,
                docs.get(file).tenantLine(),
                "duplicate tenant " + e.getKey() + ": also in " + String.join(", ", others)));
      }
    }

    if (previous != null) {
      compareWithPrevious(docs, previous, spec, problems);
    }

    problems.sort(PolicyProblem.ORDER);
    if (!problems.isEmpty()) {
      return new Result(List.copyOf(problems), Map.of());
    }
    Map<TenantId, TenantPolicy> policies = new TreeMap<>();
    for (Map.Entry<String, Document> e : docs.entrySet()) {
      TenantPolicy p = e.getValue().policy();
      policies.put(
          p.tenant(),
          new TenantPolicy(
              p.tenant(),
              p.version(),
              p.status(),
              p.tables(),
              folder.resolve(e.getKey()).toString()));
    }
    return new Result(List.of(), Collections.unmodifiableMap(policies));
  }

  private static Map<String, Document> parseAll(
      Map<String, String> texts, ExportSpec spec, List<PolicyProblem> problems) {
    Map<String, Document> docs = new TreeMap<>();
    // Every document's scalars are kept until all tenant ids are known (a policy may not name
    // another tenant). A fleet's documents repeat the same scalars on the same lines, so they are
    // shared: 100,000 separate lists took more heap than a JobManager has (it loads the folder at
    // submission).
    Map<PolicyParser.Scalar, PolicyParser.Scalar> shared = new HashMap<>();
    for (Map.Entry<String, String> e : texts.entrySet()) {
      Document d = PolicyParser.read(e.getValue(), e.getKey(), spec);
      problems.addAll(d.problems());
      List<PolicyParser.Scalar> scalars =
          d.scalars().stream().map(x -> shared.computeIfAbsent(x, k -> k)).toList();
      docs.put(
          e.getKey(),
          new Document(
              d.problems(),
              d.policy(),
              d.tenant(),
              d.tenantLine(),
              d.version(),
              d.versionLine(),
              scalars));
    }
    return docs;
  }

  private static void compareWithPrevious(
      Map<String, Document> docs, Path previous, ExportSpec spec, List<PolicyProblem> problems) {
    List<PolicyProblem> previousProblems = new ArrayList<>();
    Map<String, String> texts = PolicyFolder.read(previous, previousProblems);
    if (texts == null) {
      // The previous folder's own file problems are not this folder's; only "cannot list" counts.
      problems.addAll(previousProblems);
      return;
    }
    Map<String, Document> before = new HashMap<>();
    for (Document d : parseAll(texts, spec, new ArrayList<>()).values()) {
      if (d.tenant() != null && d.version() != null) {
        before.putIfAbsent(d.tenant(), d);
      }
    }
    for (Map.Entry<String, Document> e : docs.entrySet()) {
      Document d = e.getValue();
      Document was = d.tenant() == null ? null : before.get(d.tenant());
      if (was == null || d.version() == null) {
        continue;
      }
      long now = d.version();
      long then = was.version();
      if (now < then) {
        problems.add(
            new PolicyProblem(
                e.getKey(),
                d.versionLine(),
                "version "
                    + now
                    + " is lower than version "
                    + then
                    + " in the previous policies: versions only go up"));
      } else if (now == then
          && d.policy() != null
          && was.policy() != null
          && !d.policy().sameContent(was.policy())) {
        problems.add(
            new PolicyProblem(
                e.getKey(),
                d.versionLine(),
                "content changed but version stayed "
                    + now
                    + ": raise the version when the policy changes"));
      }
    }
  }
}
