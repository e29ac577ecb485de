package org.apache.skywalking.swtls;

/** Lets the benchmark (another package) use the test collector and certificates. */
public final class BenchSupport {
    private final TestCollector server;
    private final String caDir;

    private BenchSupport(TestCollector server, String caDir) {
        this.server = server;
        this.caDir = caDir;
    }

    public static BenchSupport mtlsServer() throws Exception {
        TestCerts certs = TestCerts.get();
        return new BenchSupport(new TestCollector(TestCollector.Mode.MTLS),
                certs.agentDir("ca.crt", "client.crt", "client.pem").toString());
    }

    public Config config() {
        return new Config().set("collector.backend_service", server.address()).set("agent.ca_dir", caDir);
    }

    public long acknowledged() {
        return server.acknowledged.get();
    }

    public void close() {
        server.close();
    }
}
