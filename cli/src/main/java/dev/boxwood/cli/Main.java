package dev.boxwood.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the boxwood command; each subcommand lives in its own class. */
@Command(name = "boxwood", mixinStandardHelpOptions = true, version = "boxwood 0.1.0",
        description = "Self-hosted, E2B-compatible sandboxes for AI-generated code.",
        subcommands = {ServeCommand.class, TemplateCommand.class, KeysCommand.class})
public final class Main {
    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
