package dev.boxwood.agent.interpreter.jupyter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/** Finds installed kernelspecs the way {@code jupyter kernelspec list} does, without needing Jupyter itself. */
public final class KernelSpecs {
    private static final ObjectMapper JSON = new ObjectMapper();

    private KernelSpecs() {}

    /** Kernel directories in Jupyter's precedence order: user, then JUPYTER_PATH, then system-wide. */
    public static List<Path> searchPath() {
        List<Path> dirs = new ArrayList<>();
        String home = System.getProperty("user.home");
        if (home != null) dirs.add(Path.of(home, ".local/share/jupyter/kernels"));
        String jupyterPath = System.getenv("JUPYTER_PATH");
        if (jupyterPath != null) {
            for (String p : jupyterPath.split(":")) if (!p.isBlank()) dirs.add(Path.of(p, "kernels"));
        }
        dirs.add(Path.of("/usr/local/share/jupyter/kernels"));
        dirs.add(Path.of("/usr/share/jupyter/kernels"));
        return dirs;
    }

    /** All kernelspecs found, keyed by lower-case name; the first directory that has a name wins. */
    public static Map<String, KernelSpec> discover(List<Path> dirs) {
        Map<String, KernelSpec> specs = new LinkedHashMap<>();
        for (Path dir : dirs) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> entries = Files.list(dir)) {
                for (Path kernelDir : entries.sorted().toList()) {
                    Path file = kernelDir.resolve("kernel.json");
                    String name = kernelDir.getFileName().toString().toLowerCase(Locale.ROOT);
                    if (specs.containsKey(name) || !Files.isRegularFile(file)) continue;
                    KernelSpec spec = read(name, file);
                    if (spec != null) specs.put(name, spec);
                }
            } catch (IOException ignored) {
                // An unreadable kernel directory is skipped, like Jupyter does.
            }
        }
        return specs;
    }

    static KernelSpec read(String name, Path file) {
        try {
            JsonNode json = JSON.readTree(file.toFile());
            List<String> argv = new ArrayList<>();
            json.path("argv").forEach(a -> argv.add(a.asText()));
            if (argv.isEmpty()) return null;
            Map<String, String> env = new LinkedHashMap<>();
            json.path("env").properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
            return new KernelSpec(name, json.path("display_name").asText(name),
                    json.path("language").asText(name).toLowerCase(Locale.ROOT), List.copyOf(argv), Map.copyOf(env),
                    json.path("interrupt_mode").asText("signal"));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
