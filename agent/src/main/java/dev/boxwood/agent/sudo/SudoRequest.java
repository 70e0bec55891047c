package dev.boxwood.agent.sudo;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/**
 * The client's request line. {@code stdio} holds the client's fd numbers to reopen for the command's stdin, stdout and
 * stderr ({@code null}: closed); the client swaps sockets for pipes it relays, since a socket cannot be reopened.
 * {@code fallback} holds, per stdio slot, a pipe of the client's to use instead when the agent cannot reopen the first
 * (the client then relays it). {@code action} is {@code run}, {@code validate} ({@code sudo -v}) or {@code list} ({@code sudo -l}).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
record SudoRequest(int pid, List<String> argv, String user, String cwd, Map<String, String> env, boolean login,
                   boolean shell, boolean preserveEnv, List<String> preserveList, boolean setHome, String action,
                   Map<String, String> assignments, List<Integer> stdio,
                   List<Integer> fallback) {
    SudoRequest {
        argv = argv == null ? List.of() : List.copyOf(argv);
        user = user == null || user.isEmpty() ? "root" : user;
        env = env == null ? Map.of() : env;
        preserveList = preserveList == null ? List.of() : preserveList;
        action = action == null ? "run" : action;
        assignments = assignments == null ? Map.of() : assignments;
        stdio = stdio == null ? java.util.Arrays.asList(0, 1, 2) : stdio;
        fallback = fallback == null ? java.util.Arrays.asList(null, null, null) : fallback;
    }
}
