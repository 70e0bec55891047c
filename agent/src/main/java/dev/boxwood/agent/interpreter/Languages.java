package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Language names as E2B accepts them, the kernels that run them, and how each sets environment variables. */
final class Languages {
    private Languages() {}

    /** Lower-cased and trimmed; {@code js} and {@code ts} are aliases; nothing means python. */
    static String normalise(String language) {
        if (language == null || language.isBlank()) return "python";
        String l = language.strip().toLowerCase(Locale.ROOT);
        return switch (l) {
            case "js" -> "javascript";
            case "ts" -> "typescript";
            case "py", "python3" -> "python";
            case "sh" -> "bash";
            default -> l;
        };
    }

    /** Kernelspec names to try for a language, best first. */
    static List<String> kernelNames(String language) {
        return switch (language) {
            case "python" -> List.of("python3", "python");
            case "javascript" -> List.of("javascript", "ijavascript", "node", "nodejs");
            case "typescript" -> List.of("typescript", "tslab");
            case "r" -> List.of("ir", "r");
            case "bash" -> List.of("bash");
            case "java" -> List.of("java", "jshell", "ijava");
            default -> List.of(language);
        };
    }

    /** Code that sets {@code vars} in a kernel of this language, or null when it cannot. */
    static String setCode(String language, Map<String, String> vars) {
        if (vars.isEmpty()) return null;
        StringBuilder code = new StringBuilder();
        for (Map.Entry<String, String> e : vars.entrySet()) {
            String k = quote(e.getKey()), v = quote(e.getValue());
            switch (language) {
                case "python" -> code.append("__import__('os').environ[").append(k).append("] = ").append(v).append('\n');
                case "javascript", "typescript" -> code.append("process.env[").append(k).append("] = ").append(v).append(";\n");
                case "r" -> code.append("do.call(Sys.setenv, setNames(list(").append(v).append("), ").append(k).append("))\n");
                case "bash" -> {
                    if (!e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) continue;
                    code.append("export ").append(e.getKey()).append('=').append(shellQuote(e.getValue())).append('\n');
                }
                default -> { return null; }
            }
        }
        return code.toString();
    }

    /** Code that puts {@code keys} back: to the sandbox-wide value when there is one, else removes them. */
    static String resetCode(String language, Iterable<String> keys, Map<String, String> sandboxWide) {
        StringBuilder code = new StringBuilder();
        for (String key : keys) {
            String global = sandboxWide.get(key);
            if (global != null) {
                String set = setCode(language, Map.of(key, global));
                if (set == null) return null;
                code.append(set);
                continue;
            }
            String k = quote(key);
            switch (language) {
                case "python" -> code.append("__import__('os').environ.pop(").append(k).append(", None)\n");
                case "javascript", "typescript" -> code.append("delete process.env[").append(k).append("];\n");
                case "r" -> code.append("Sys.unsetenv(").append(k).append(")\n");
                case "bash" -> {
                    if (key.matches("[A-Za-z_][A-Za-z0-9_]*")) code.append("unset ").append(key).append('\n');
                }
                default -> { return null; }
            }
        }
        return code.isEmpty() ? null : code.toString();
    }

    /** A JSON string literal, which is also a valid string literal in Python, JavaScript and R. */
    private static String quote(String s) {
        try {
            return OutputItem.JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String shellQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
