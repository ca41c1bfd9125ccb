package io.tenantexport.jobs.cli;

import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.policy.PolicyLint;
import io.tenantexport.common.policy.PolicyProblem;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.SpecException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code policy lint <folder> [--spec <export-spec.yaml>] [--previous <folder>]}: the CI check of a
 * policy folder. Prints every {@link PolicyProblem} as {@code file:line: cause}, then one summary
 * line; exits {@value TenantExportCli#FAILED} when there is any problem.
 *
 * <p>A folder or spec that does not exist is a usage error (the path is wrong); a spec that exists
 * but is invalid is a problem found.
 */
final class PolicyLintCommand implements Command {
  static final String SPEC_FILE = "export-spec.yaml";

  @Override
  public String name() {
    return "policy lint";
  }

  @Override
  public String summary() {
    return "check a policy folder against the export spec (CI)";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export policy lint <folder> [--spec <export-spec.yaml>] [--previous <folder>]

        Checks a policy folder (one <tenant-id>.yaml per tenant) against the export spec, as the
        job does when it starts, and prints one line per problem, 'file:line: cause', then a
        summary. Exit status 1 when there is any problem, so CI fails.

          --spec <file>         the export spec; default: export-spec.yaml next to the folder,
                                that is <folder>/../export-spec.yaml
          --previous <folder>   the policies deployed now: a tenant's version must not go down,
                                and a changed policy needs a higher version
        """;
  }

  @Override
  public Args.Spec arguments() {
    return new Args.Spec().positional("<folder>").value("--spec").value("--previous");
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    Path folder = existingFolder(args.positional(0), "policy folder");
    Path previous =
        args.value("--previous") == null
            ? null
            : existingFolder(args.value("--previous"), "--previous");
    Path specFile = specFile(folder, args.value("--spec"));
    ExportSpec spec = loadSpec(specFile);
    List<PolicyProblem> problems = PolicyLint.lint(folder, spec, previous);
    return report(folder, spec, problems, io.out());
  }

  /**
   * Prints {@code problems}, one per line, and a summary line.
   *
   * @return the exit status: {@value TenantExportCli#FAILED} when there is any problem
   */
  static int report(Path folder, ExportSpec spec, List<PolicyProblem> problems, PrintStream out) {
    String against = spec.source() + " (spec version " + spec.version() + ")";
    if (problems.isEmpty()) {
      int files;
      try {
        files = PolicyFolder.documents(folder).size();
      } catch (IOException e) {
        throw new CommandFailedException(e.getMessage(), e);
      }
      out.println(folder + ": " + files + " policy file(s) checked against " + against + ": OK");
      return TenantExportCli.OK;
    }
    problems.forEach(out::println);
    long files = problems.stream().map(PolicyProblem::file).distinct().count();
    out.println(
        folder
            + ": "
            + problems.size()
            + " problem(s) in "
            + files
            + " file(s), checked against "
            + against);
    return TenantExportCli.FAILED;
  }

  static Path existingFolder(String arg, String what) throws UsageException {
    Path p = path(arg, what);
    if (!Files.isDirectory(p)) {
      throw new UsageException(what + " " + arg + ": no such folder");
    }
    return p;
  }

  static ExportSpec loadSpec(Path specFile) {
    try {
      return ExportSpec.load(specFile);
    } catch (SpecException e) {
      throw new CommandFailedException("invalid export spec: " + e.getMessage(), e);
    }
  }

  /** The spec named by {@code --spec}, else {@code <folder>/../export-spec.yaml}. */
  private static Path specFile(Path folder, String option) throws UsageException {
    if (option != null) {
      Path p = path(option, "--spec");
      if (!Files.isRegularFile(p)) {
        throw new UsageException("--spec " + option + ": no such file");
      }
      return p;
    }
    Path beside = folder.resolve("..").resolve(SPEC_FILE).normalize();
    if (!Files.isRegularFile(beside)) {
      throw new UsageException(
          "--spec <export-spec.yaml> is required: there is no " + beside + " next to " + folder);
    }
    return beside;
  }

  private static Path path(String arg, String what) throws UsageException {
    try {
      return Path.of(arg);
    } catch (InvalidPathException e) {
      throw new UsageException(what + " " + arg + ": not a path (" + e.getReason() + ")");
    }
  }
}
