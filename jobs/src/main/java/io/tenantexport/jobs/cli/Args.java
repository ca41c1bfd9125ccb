package io.tenantexport.jobs.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command's parsed arguments: positionals, {@code --name value} (or {@code --name=value})
 * options, {@code --flag} switches and, for commands that load the job configuration, the job's own
 * {@code --key=value} settings, passed on to {@code JobConfig.load} as the job would receive them.
 *
 * <p>Parsing is strict: an unknown flag, a missing value, a repeated single-valued option or a
 * positional too many is a {@link UsageException} naming it. {@code --help} (or {@code -h})
 * anywhere asks for the command's help and nothing else is checked.
 */
final class Args {
  private final boolean help;
  private final List<String> positionals;
  private final Map<String, List<String>> values;
  private final List<String> settings;

  private Args(
      boolean help,
      List<String> positionals,
      Map<String, List<String>> values,
      List<String> settings) {
    this.help = help;
    this.positionals = List.copyOf(positionals);
    this.values = values;
    this.settings = List.copyOf(settings);
  }

  boolean help() {
    return help;
  }

  String positional(int i) {
    return positionals.get(i);
  }

  /** The value of a single-valued option, or null when it was not given. */
  String value(String option) {
    List<String> v = values.get(option);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  /** Every value of a repeatable option, in order; empty when it was not given. */
  List<String> values(String option) {
    return values.getOrDefault(option, List.of());
  }

  boolean flag(String option) {
    return values.containsKey(option);
  }

  /** The job settings given as flags, each as {@code --key=value}. */
  String[] settings() {
    return settings.toArray(String[]::new);
  }

  /** What a command accepts. */
  static final class Spec {
    private enum Kind {
      VALUE,
      REPEATED,
      FLAG
    }

    private final Map<String, Kind> options = new LinkedHashMap<>();
    private String positionalName = "";
    private int minPositionals;
    private int maxPositionals;
    private boolean jobSettings;

    /** An option taking one value, given at most once. */
    Spec value(String option) {
      options.put(option, Kind.VALUE);
      return this;
    }

    /** An option taking one value, given any number of times. */
    Spec repeated(String option) {
      options.put(option, Kind.REPEATED);
      return this;
    }

    /** A switch without a value. */
    Spec flag(String option) {
      options.put(option, Kind.FLAG);
      return this;
    }

    /** Exactly one positional argument, named {@code name} in messages. */
    Spec positional(String name) {
      this.positionalName = name;
      this.minPositionals = 1;
      this.maxPositionals = 1;
      return this;
    }

    /**
     * Accepts the job configuration's settings as flags ({@code --kafka.bootstrap_servers=...},
     * {@code --spec=...}): any other option with a dotted name, or {@code --spec}. Their names are
     * checked by the configuration, which rejects unknown keys.
     */
    Spec jobSettings() {
      this.jobSettings = true;
      return this;
    }

    Args parse(String[] argv) throws UsageException {
      if (Arrays.stream(argv).anyMatch(a -> a.equals("--help") || a.equals("-h"))) {
        return new Args(true, List.of(), Map.of(), List.of());
      }
      List<String> positionals = new ArrayList<>();
      Map<String, List<String>> values = new LinkedHashMap<>();
      List<String> settings = new ArrayList<>();
      boolean onlyPositionals = false;
      for (int i = 0; i < argv.length; i++) {
        String arg = argv[i];
        if (onlyPositionals || !arg.startsWith("-") || arg.equals("-")) {
          positionals.add(arg);
          continue;
        }
        if (arg.equals("--")) {
          onlyPositionals = true;
          continue;
        }
        if (!arg.startsWith("--")) {
          throw new UsageException("unknown flag " + arg + " (options are --name value)");
        }
        int eq = arg.indexOf('=');
        String name = eq < 0 ? arg : arg.substring(0, eq);
        String inline = eq < 0 ? null : arg.substring(eq + 1);
        Kind kind = options.get(name);
        if (kind == Kind.FLAG) {
          if (inline != null) {
            throw new UsageException(name + " takes no value, got '" + inline + "'");
          }
          values.put(name, List.of());
          continue;
        }
        boolean setting = kind == null && jobSettings && isJobSetting(name);
        if (kind == null && !setting) {
          throw new UsageException("unknown flag " + name + knownOptions());
        }
        String value = inline;
        if (value == null) {
          if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) {
            throw new UsageException(name + " needs a value");
          }
          value = argv[++i];
        }
        if (setting) {
          settings.add(name + "=" + value);
          continue;
        }
        if (value.isBlank()) {
          throw new UsageException(name + " needs a value, got an empty one");
        }
        List<String> list = values.computeIfAbsent(name, n -> new ArrayList<>());
        if (kind == Kind.VALUE && !list.isEmpty()) {
          throw new UsageException(name + " given twice ('" + list.get(0) + "', '" + value + "')");
        }
        list.add(value);
      }
      if (positionals.size() < minPositionals) {
        throw new UsageException("missing " + positionalName);
      }
      if (positionals.size() > maxPositionals) {
        throw new UsageException(
            "unexpected argument '"
                + positionals.get(maxPositionals)
                + "'"
                + (maxPositionals == 0 ? "" : " (only one " + positionalName + ")"));
      }
      values.replaceAll((k, v) -> List.copyOf(v));
      return new Args(false, positionals, values, settings);
    }

    private static boolean isJobSetting(String name) {
      String key = name.substring(2);
      return key.equals("spec") || (key.contains(".") && !key.startsWith("."));
    }

    private String knownOptions() {
      List<String> known = new ArrayList<>(options.keySet());
      known.add("--help");
      return "; known: "
          + String.join(", ", known)
          + (jobSettings ? " and the job's --key=value settings" : "");
    }
  }
}
