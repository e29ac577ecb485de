package org.apache.skywalking.swtls;

/** Lets the benchmark (another package) use the test collector and certificates. */
public final class BenchSupport {
    private final TestCollector server;
    private final String backend;
    private final String caDir;

    private BenchSupport(TestCollector server, String backend, String caDir) {
        this.server = server;
        this.backend = backend;
        this.caDir = caDir;
    }

    /** Where the benchmark reports to, in words. */
    public String describe() {
        return server != null ? "grpc-java (Netty) on " + backend + " in the same JVM" : "the external collector at " + backend;
    }

    /**
     * The backend for the benchmark: BENCH_BACKEND (host:port) with the agent ca folder
     * BENCH_CA_DIR when both are set (an external collector), else a grpc-java server here.
     */
    public static BenchSupport fromEnvironment() throws Exception {
        String backend = System.getenv("BENCH_BACKEND");
        String caDir = System.getenv("BENCH_CA_DIR");
        if (backend != null && caDir != null) {
            return new BenchSupport(null, backend, caDir);
        }
        return mtlsServer();
    }

    public static BenchSupport mtlsServer() throws Exception {
        TestCerts certs = TestCerts.get();
        TestCollector server = new TestCollector(TestCollector.Mode.MTLS);
        return new BenchSupport(server, server.address(), certs.agentDir("ca.crt", "client.crt", "client.pem").toString());
    }

    public Config config() {
        return new Config().set("collector.backend_service", backend).set("agent.ca_dir", caDir);
    }

    /** Messages the server acknowledged, or -1 when it is external. */
    public long acknowledged() {
        return server != null ? server.acknowledged.get() : -1;
    }

    public void close() {
        if (server != null) {
            server.close();
        }
    }
}
