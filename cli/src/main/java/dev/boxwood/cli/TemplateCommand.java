package dev.boxwood.cli;

import dev.boxwood.server.template.TemplateBuildFailure;
import dev.boxwood.server.template.TemplateBuilder;
import dev.boxwood.server.template.TemplateStore;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "template", description = "Build and list templates (root filesystems)",
        subcommands = {TemplateCommand.Build.class, TemplateCommand.ListTemplates.class})
final class TemplateCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("usage: boxwood template build <name> [--force] | boxwood template list");
        return 2;
    }

    static TemplateStore store() {
        return new TemplateStore(TemplateStore.defaultRecipes(), TemplateStore.defaultDataDir());
    }

    @Command(name = "build", description = "Build a template from templates/<name>/ unless it is up to date")
    static final class Build implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "<name>", description = "template name, e.g. base")
        String name;

        @Option(names = "--force", description = "rebuild even when the recipe has not changed")
        boolean force;

        @Override
        public Integer call() {
            try {
                new TemplateBuilder(store(), System.err::println).build(name, force);
                return 0;
            } catch (TemplateBuildFailure e) {
                System.err.println("boxwood: " + e.getMessage());
                return 1;
            }
        }
    }

    @Command(name = "list", description = "List templates and whether they are built and current")
    static final class ListTemplates implements Callable<Integer> {
        @Override
        public Integer call() {
            try {
                var entries = store().list();
                System.out.printf("%-24s %-10s %-12s %s%n", "NAME", "STATE", "PARENT", "BUILT");
                for (var entry : entries) {
                    System.out.printf("%-24s %-10s %-12s %s%n", entry.name(),
                            entry.state().name().toLowerCase().replace('_', ' '),
                            entry.parent() == null ? "-" : entry.parent(),
                            entry.builtAt() == null ? "-" : entry.builtAt());
                }
                return 0;
            } catch (TemplateBuildFailure e) {
                System.err.println("boxwood: " + e.getMessage());
                return 1;
            }
        }
    }
}
