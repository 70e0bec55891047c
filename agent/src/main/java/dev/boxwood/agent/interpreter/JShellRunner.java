package dev.boxwood.agent.interpreter;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import sun.misc.Signal;

/**
 * The Java runtime behind Boxwood's Java kernel ({@code boxwood_wrapper_kernel.py} with BOXWOOD_RUNTIME=java): a
 * JShell session that reads cells as JSON lines on stdin and answers on the status fd, as the wrapper's protocol
 * says. Snippets run in JShell's separate execution JVM, so an interrupt can stop them.
 */
public final class JShellRunner {
    private static final String MARK = "\u001eBWEND\u001e";

    private JShellRunner() {}

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(java.io.FileDescriptor.err), true, StandardCharsets.UTF_8);
        String fd = System.getenv("BOXWOOD_STATUS_FD");
        try (OutputStream status = new FileOutputStream("/proc/self/fd/" + fd);
             JShell shell = JShell.builder().out(out).err(err)
                     .remoteVMOptions("-Xmx" + System.getenv().getOrDefault("BOXWOOD_JSHELL_HEAP", "256m"),
                             "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
                     .build()) {
            Signal.handle(new Signal("INT"), s -> shell.stop());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                String code = OutputItem.JSON.readTree(line).path("code").asText("");
                ObjectNode result = run(shell, code);
                out.print(MARK);
                out.flush();
                err.print(MARK);
                err.flush();
                status.write((OutputItem.JSON.writeValueAsString(result) + "\n").getBytes(StandardCharsets.UTF_8));
                status.flush();
            }
        }
    }

    private static ObjectNode run(JShell shell, String code) {
        SourceCodeAnalysis analysis = shell.sourceCodeAnalysis();
        String remaining = code;
        String value = null;
        while (!remaining.isBlank()) {
            SourceCodeAnalysis.CompletionInfo info = analysis.analyzeCompletion(remaining);
            String source = info.source();
            if (source == null || info.completeness() == SourceCodeAnalysis.Completeness.DEFINITELY_INCOMPLETE) {
                return error("CompilationError", "incomplete input: " + remaining.strip(), List.of());
            }
            remaining = info.remaining();
            for (SnippetEvent event : shell.eval(source)) {
                if (event.exception() != null) return exception(event.exception());
                if (event.status() == Snippet.Status.REJECTED) {
                    List<String> lines = shell.diagnostics(event.snippet())
                            .map(d -> d.getMessage(java.util.Locale.ROOT)).toList();
                    return error("CompilationError", String.join("; ", lines), lines);
                }
                if (event.causeSnippet() == null && event.value() != null
                        && (event.snippet().kind() == Snippet.Kind.EXPRESSION
                            || event.snippet().kind() == Snippet.Kind.VAR)) {
                    value = event.value();
                }
            }
        }
        ObjectNode ok = OutputItem.JSON.createObjectNode();
        ok.put("status", "ok");
        if (value != null) ok.put("result", value); else ok.putNull("result");
        return ok;
    }

    private static ObjectNode exception(Exception e) {
        String name = e instanceof EvalException eval ? eval.getExceptionClassName()
                : e instanceof UnresolvedReferenceException ? "UnresolvedReferenceException" : e.getClass().getName();
        String message = e.getMessage() == null ? "" : e.getMessage();
        List<String> trace = java.util.Arrays.stream(e.getStackTrace()).map(f -> "\tat " + f).toList();
        return error(name, message, trace);
    }

    private static ObjectNode error(String name, String value, List<String> traceback) {
        ObjectNode json = OutputItem.JSON.createObjectNode();
        json.put("status", "error");
        json.put("ename", name);
        json.put("evalue", value);
        ArrayNode lines = json.putArray("traceback");
        lines.add(name + ": " + value);
        traceback.forEach(lines::add);
        return json;
    }
}
