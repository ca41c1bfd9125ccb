package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.config.ConfigException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The operators' command-line tool, {@code tenant-export} ({@code deploy/bin/tenant-export} runs it
 * from the job jar):
 *
 * <ul>
 *   <li>{@code policy lint}: checks a policy folder, for CI ({@link PolicyLintCommand});
 *   <li>{@code policy publish}: sends a folder's policies to the running job's control topic
 *       ({@link PolicyPublishCommand});
 *   <li>{@code quarantine replay}: re-injects quarantined records into their original topics
 *       ({@link QuarantineReplayCommand});
 *   <li>{@code job deploy|status|savepoint|upgrade|rollback|stop}: operations on the job over
 *       Flink's REST API, each recorded in the warehouse's export registry and as an {@code
 *       OPERATION} audit event ({@link JobOperations}).
 * </ul>
 *
 * <p>Commands that talk to Kafka load the job configuration exactly as the job does ({@code
 * --config job.yaml} plus the job's {@code --key=value} settings), so they validate the same
 * configuration and reach the same topics. The CLI uses no Flink classes: the job jar with an SLF4J
 * API for the Kafka client (Flink's {@code lib/}) is all it needs.
 *
 * <p>Exit status: {@value #OK} done; {@value #FAILED} problems found or the operation failed;
 * {@value #USAGE} usage error (unknown command or flag, missing or malformed argument, invalid job
 * configuration), nothing attempted.
 */
public final class TenantExportCli {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;

  static final String NAME = "tenant-export";

  private static final List<Command> COMMANDS =
      List.of(
          new PolicyLintCommand(),
          new PolicyPublishCommand(),
          new QuarantineReplayCommand(),
          new JobDeployCommand(),
          new JobStatusCommand(),
          new JobSavepointCommand(),
          new JobUpgradeCommand(),
          new JobRollbackCommand(),
          new JobStopCommand(),
          new ReplayCommand(),
          new CanaryStartCommand(),
          new CanaryStopCommand(),
          new ReconcileCommand());

  private TenantExportCli() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err, System.getenv()));
  }

  /**
   * Runs one command line; never exits the JVM.
   *
   * @param env the environment, as {@code System.getenv()} (the job configuration reads it)
   * @return the exit status
   */
  public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
    Io io = new Io(out, err, env);
    if (args.length == 0) {
      err.print(overview());
      return USAGE;
    }
    if (isHelp(args[0]) || args[0].equals("help")) {
      out.print(overview());
      return OK;
    }
    String group = args[0];
    // A command of one word (replay, reconcile) takes its options right after its name.
    for (Command c : COMMANDS) {
      if (c.name().equals(group)) {
        return execute(c, Arrays.copyOfRange(args, 1, args.length), io);
      }
    }
    List<Command> inGroup = COMMANDS.stream().filter(c -> group.equals(groupOf(c))).toList();
    if (inGroup.isEmpty()) {
      return usage(io, NAME, "unknown command '" + group + "'", NAME + " --help");
    }
    if (args.length == 1 || isHelp(args[1])) {
      if (args.length > 1) {
        out.print(groupOverview(group, inGroup));
        return OK;
      }
      return usage(
          io,
          NAME + " " + group,
          "missing subcommand (" + subcommands(inGroup) + ")",
          NAME + " " + group + " --help");
    }
    Command command =
        inGroup.stream()
            .filter(c -> c.name().equals(group + " " + args[1]))
            .findFirst()
            .orElse(null);
    if (command == null) {
      return usage(
          io,
          NAME + " " + group,
          "unknown subcommand '" + args[1] + "' (" + subcommands(inGroup) + ")",
          NAME + " " + group + " --help");
    }
    return execute(command, Arrays.copyOfRange(args, 2, args.length), io);
  }

  private static int execute(Command command, String[] options, Io io) {
    PrintStream out = io.out();
    PrintStream err = io.err();
    String prefix = NAME + " " + command.name();
    try {
      Args parsed = command.arguments().parse(options);
      if (parsed.help()) {
        out.print(command.help());
        return OK;
      }
      return command.run(parsed, io);
    } catch (UsageException e) {
      return usage(io, prefix, e.getMessage(), prefix + " --help");
    } catch (ConfigException e) {
      err.println(prefix + ": invalid job configuration: " + e.getMessage());
      return USAGE;
    } catch (CommandFailedException e) {
      err.println(prefix + ": " + describe(e));
      return FAILED;
    } catch (RuntimeException | LinkageError e) {
      err.println(prefix + ": failed: " + describe(e));
      return FAILED;
    }
  }

  /**
   * The message and its causes' messages, on one line (no stack trace: this is a tool's output).
   */
  private static String describe(Throwable e) {
    StringBuilder sb =
        new StringBuilder(e instanceof CommandFailedException ? e.getMessage() : String.valueOf(e));
    for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      sb.append("; caused by ").append(c);
    }
    return sb.toString();
  }

  private static int usage(Io io, String prefix, String problem, String help) {
    io.err().println(prefix + ": " + problem);
    io.err().println("Run '" + help + "' for usage.");
    return USAGE;
  }

  private static boolean isHelp(String arg) {
    return arg.equals("--help") || arg.equals("-h");
  }

  /** The first word of a two-word command; null for a one-word command. */
  private static String groupOf(Command c) {
    int space = c.name().indexOf(' ');
    return space < 0 ? null : c.name().substring(0, space);
  }

  private static String subcommands(List<Command> inGroup) {
    return inGroup.stream()
        .map(c -> c.name().substring(c.name().indexOf(' ') + 1))
        .collect(Collectors.joining(", "));
  }

  private static String groupOverview(String group, List<Command> inGroup) {
    StringBuilder sb = new StringBuilder("Usage: " + NAME + " " + group + " <subcommand> ...\n\n");
    for (Command c : inGroup) {
      sb.append(String.format("  %-20s %s%n", c.name(), c.summary()));
    }
    sb.append("\nRun '" + NAME + " " + group + " <subcommand> --help' for its options.\n");
    return sb.toString();
  }

  static String overview() {
    StringBuilder sb = new StringBuilder("Usage: " + NAME + " <command> [options]\n\nCommands:\n");
    for (Command c : COMMANDS) {
      sb.append(String.format("  %-20s %s%n", c.name(), c.summary()));
    }
    sb.append(
        """

        Run 'tenant-export <command> --help' for a command's options.
        Exit status: 0 done; 1 problems found or the operation failed; 2 usage error
        (unknown command or flag, missing argument, invalid job configuration).
        """);
    return sb.toString();
  }
}
