package org.apache.skywalking.swtls;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs {@link SubprocessMain} in a fresh JVM (for what happens once per JVM: loading, the environment). */
final class Subprocess {
    static final class Result {
        final int exit;
        final String output;

        Result(int exit, String output) {
            this.exit = exit;
            this.output = output;
        }
    }

    private Subprocess() {}

    static Result run(String jvmArg, String command) throws Exception {
        return run(Arrays.asList(jvmArg), null, command);
    }

    static Result run(List<String> jvmArgs, Map<String, String> env, String... command) throws Exception {
        List<String> cmd = new ArrayList<String>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(SubprocessMain.class.getName());
        cmd.addAll(Arrays.asList(command));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove(NativeLoader.ENV);
        for (String k : new ArrayList<String>(pb.environment().keySet())) {
            if (k.startsWith("SW_AGENT_") || k.equals("SWTLS_CA_DIR")) {
                pb.environment().remove(k);
            }
        }
        if (env != null) {
            pb.environment().putAll(env);
        }
        Process p = pb.start();
        String out = TestCerts.readAll(p.getInputStream());
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("subprocess did not finish: " + out);
        }
        return new Result(p.exitValue(), out);
    }
}
