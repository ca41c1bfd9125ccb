package io.tenantexport.jobs.cli;

import io.tenantexport.common.policy.PolicyFolder;
import io.tenantexport.common.policy.PolicyLint;
import io.tenantexport.common.policy.PolicyProblem;
import io.tenantexport.common.policy.TenantPolicy;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.jobs.config.JobConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * {@code policy publish <folder> --config <job.yaml> [--tenant T ...] [--key=value ...]}: sends a
 * policy folder to the running job. The folder is linted against the configuration's export spec
 * first, and nothing is sent if it has any problem. Then each policy file (or only the named
 * tenants') is produced to the control topic ({@code policy.control_topic}): key the tenant id,
 * value the file's text, UTF-8, acks=all from an idempotent producer.
 *
 * <p>The job applies a version newer than the one it holds and rejects an older one with an audit
 * event; the same version with the same content changes nothing. Publishing an unchanged folder is
 * therefore harmless, and a publish that failed halfway is simply run again.
 */
final class PolicyPublishCommand implements Command {
  private static final String TENANT = "--tenant";

  @Override
  public String name() {
    return "policy publish";
  }

  @Override
  public String summary() {
    return "lint a policy folder, then send it to the running job's control topic";
  }

  @Override
  public String help() {
    return """
        Usage: tenant-export policy publish <folder> --config <job.yaml> [--tenant <id> ...]
                                            [--<key>=<value> ...]

        Lints <folder> against the job's export spec and refuses to publish on any problem
        (exit status 1). Then produces each policy file, or only those of the --tenant ids, to
        the job's control topic (policy.control_topic): key = tenant id, value = the file's
        text. The running job applies newer versions and rejects older ones with an audit
        event, so publishing an unchanged folder is harmless.

          --tenant <id>         publish only this tenant's policy; repeatable
        """
        + JobConfigs.HELP;
  }

  @Override
  public Args.Spec arguments() {
    return new Args.Spec()
        .positional("<folder>")
        .value(JobConfigs.CONFIG)
        .repeated(TENANT)
        .jobSettings();
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    Path folder = PolicyLintCommand.existingFolder(args.positional(0), "policy folder");
    Set<String> tenants = new TreeSet<>();
    for (String t : args.values(TENANT)) {
      if (!TenantId.isValid(t)) {
        throw new UsageException(
            TENANT + " " + TenantId.describe(t) + ": not a tenant id, " + TenantId.problem(t));
      }
      tenants.add(t);
    }
    JobConfig config = JobConfigs.load(args, io);

    List<PolicyProblem> problems = PolicyLint.lint(folder, config.spec(), null);
    if (PolicyLintCommand.report(folder, config.spec(), problems, io.out()) != TenantExportCli.OK) {
      io.err()
          .println(
              TenantExportCli.NAME
                  + " "
                  + name()
                  + ": refusing to publish "
                  + folder
                  + ": fix the problems above first");
      return TenantExportCli.FAILED;
    }
    Map<String, String> documents;
    try {
      documents = PolicyFolder.documents(folder);
    } catch (IOException e) {
      throw new CommandFailedException(e.getMessage(), e);
    }
    Map<TenantId, TenantPolicy> policies = PolicyFolder.load(folder, config.spec());
    for (String t : tenants) {
      if (!documents.containsKey(t)) {
        throw new UsageException(TENANT + " " + t + ": no policy file " + t + ".yaml in " + folder);
      }
    }
    Set<String> selected = tenants.isEmpty() ? documents.keySet() : tenants;

    KafkaClients.requireSlf4j();
    String topic = config.policyControlTopic();
    try (Admin admin = KafkaClients.admin(config, "tenant-export-cli-publish")) {
      KafkaClients.requireTopic(admin, topic, "policy.control_topic", config);
    }
    int failed = 0;
    try (KafkaProducer<byte[], byte[]> producer =
        KafkaClients.producer(config, "tenant-export-cli-publish")) {
      Map<String, Future<RecordMetadata>> sent = new LinkedHashMap<>();
      for (String tenant : selected) {
        sent.put(
            tenant,
            producer.send(
                new ProducerRecord<>(
                    topic,
                    tenant.getBytes(StandardCharsets.UTF_8),
                    documents.get(tenant).getBytes(StandardCharsets.UTF_8))));
      }
      producer.flush();
      for (Map.Entry<String, Future<RecordMetadata>> e : sent.entrySet()) {
        String tenant = e.getKey();
        long version = policies.get(TenantId.of(tenant, "policy folder " + folder)).version();
        try {
          RecordMetadata m = e.getValue().get();
          io.out()
              .println(
                  "published "
                      + tenant
                      + " version "
                      + version
                      + " to "
                      + m.topic()
                      + "/"
                      + m.partition()
                      + "@"
                      + m.offset());
        } catch (ExecutionException x) {
          failed++;
          io.err()
              .println("not published: " + tenant + " version " + version + ": " + x.getCause());
        } catch (InterruptedException x) {
          Thread.currentThread().interrupt();
          throw new CommandFailedException("interrupted while publishing", x);
        }
      }
    }
    io.out()
        .println(
            "published "
                + (selected.size() - failed)
                + " of "
                + selected.size()
                + " policy file(s) from "
                + folder
                + " to "
                + topic
                + " at "
                + config.bootstrapServers()
                + (failed == 0 ? "" : "; " + failed + " failed: run again to retry"));
    return failed == 0 ? TenantExportCli.OK : TenantExportCli.FAILED;
  }
}
