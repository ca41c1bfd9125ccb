package io.tenantexport.common.policy;

import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The policy folder: one {@code <tenant-id>.yaml} (or {@code .yml}) per tenant, directly in the
 * folder. Other files (a README, the JSON schema) and subfolders are ignored.
 *
 * <p>The job loads the folder when it starts; later versions of a tenant's policy arrive on the
 * control topic (keyed by tenant id, the YAML text as value) and are parsed with {@link
 * PolicyParser}.
 */
public final class PolicyFolder {
  /** Largest policy file read; a policy is a few hundred bytes. */
  static final long MAX_FILE_BYTES = 1 << 20;

  private PolicyFolder() {}

  /**
   * Every *.yaml/*.yml file of the folder: file stem → text, sorted by name. IOException names the
   * folder.
   *
   * @throws IOException naming the folder (and file) when the folder cannot be listed, a file
   *     cannot be read or is not UTF-8, or two files have the same stem ({@code a.yaml}, {@code
   *     a.yml})
   */
  public static Map<String, String> documents(Path folder) throws IOException {
    List<PolicyProblem> problems = new ArrayList<>();
    Map<String, String> byName = read(folder, problems);
    if (!problems.isEmpty()) {
      throw new IOException(
          "cannot read policy folder "
              + folder
              + ": "
              + problems.stream().map(PolicyProblem::toString).collect(Collectors.joining("; ")));
    }
    Map<String, String> byStem = new TreeMap<>();
    for (Map.Entry<String, String> e : byName.entrySet()) {
      if (byStem.put(stem(e.getKey()), e.getValue()) != null) {
        throw new IOException(
            "policy folder "
                + folder
                + " has two files for "
                + stem(e.getKey())
                + " (.yaml and .yml); keep one");
      }
    }
    return Collections.unmodifiableMap(byStem);
  }

  /**
   * Loads and validates a folder (all lint problems except --previous); throws PolicyException
   * whose message lists every problem, one per line.
   *
   * @return the policies by tenant, sorted; each policy's source is its file's path
   * @throws PolicyException listing every problem ({@link PolicyLint#lint} without a previous
   *     folder), one per line, when there is any
   */
  public static Map<TenantId, TenantPolicy> load(Path folder, ExportSpec spec) {
    PolicyLint.Result r = PolicyLint.check(folder, spec, null);
    if (!r.problems().isEmpty()) {
      throw new PolicyException(
          "policy folder " + folder + " has " + r.problems().size() + " problem(s):", r.problems());
    }
    return r.policies();
  }

  /**
   * The policy files of {@code folder} by file name, sorted; adds a problem per unreadable file,
   * and returns null (after adding a problem naming the folder) when it cannot be listed.
   */
  static Map<String, String> read(Path folder, List<PolicyProblem> problems) {
    List<Path> files;
    try (Stream<Path> s = Files.list(folder)) {
      files = s.filter(PolicyFolder::isPolicyFile).sorted().toList();
    } catch (IOException | UncheckedIOException | SecurityException e) {
      problems.add(
          new PolicyProblem(folder.toString(), 0, "cannot list the policy folder: " + describe(e)));
      return null;
    }
    Map<String, String> texts = new TreeMap<>();
    for (Path p : files) {
      String name = p.getFileName().toString();
      try {
        if (Files.size(p) > MAX_FILE_BYTES) {
          problems.add(
              new PolicyProblem(name, 0, "larger than " + MAX_FILE_BYTES + " bytes: not a policy"));
          continue;
        }
        byte[] bytes = Files.readAllBytes(p);
        texts.put(
            name,
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString());
      } catch (CharacterCodingException e) {
        problems.add(new PolicyProblem(name, 0, "not UTF-8 text"));
      } catch (IOException | SecurityException e) {
        problems.add(new PolicyProblem(name, 0, "cannot read: " + describe(e)));
      }
    }
    return texts;
  }

  static boolean isPolicyFile(Path p) {
    String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return (name.endsWith(".yaml") || name.endsWith(".yml")) && Files.isRegularFile(p);
  }

  /** The file name without its .yaml or .yml extension. */
  static String stem(String fileName) {
    return fileName.substring(0, fileName.lastIndexOf('.'));
  }

  private static String describe(Exception e) {
    return e.getMessage() == null
        ? e.getClass().getSimpleName()
        : e.getClass().getSimpleName() + ": " + e.getMessage();
  }
}
