module github.com/apache/skywalking-swtls/examples/go/agent

go 1.24

require github.com/apache/skywalking-swtls/bindings/go v0.0.0

replace github.com/apache/skywalking-swtls/bindings/go => ../../../bindings/go
