package io.tenantexport.jobs.cli;

/** One subcommand of {@link TenantExportCli}, such as {@code policy lint}. */
interface Command {
  /** The words that select it, e.g. {@code policy lint}. */
  String name();

  /** One line for the overview. */
  String summary();

  /** The text {@code --help} prints. */
  String help();

  /** The arguments it accepts. */
  Args.Spec arguments();

  /**
   * Runs the command.
   *
   * @return the exit status
   * @throws UsageException when an argument is unusable, before anything is attempted
   * @throws CommandFailedException when the work cannot be done
   */
  int run(Args args, Io io) throws UsageException;
}
