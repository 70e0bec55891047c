package dev.boxwood.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "template", description = "Build and list templates (root filesystems)")
final class TemplateCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("boxwood template: not built yet");
        return 1;
    }
}
