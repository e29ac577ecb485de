module github.com/apache/skywalking-swtls/examples/go/agent

go 1.24

require (
	github.com/apache/skywalking-swtls/bindings/go v0.0.0
	google.golang.org/protobuf v1.36.6
	skywalking.apache.org/repo/goapi v0.0.0-20260521015734-5c05525a3cce
)

require (
	golang.org/x/net v0.41.0 // indirect
	golang.org/x/sys v0.33.0 // indirect
	golang.org/x/text v0.26.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250707201910-8d1bb00bc6a7 // indirect
	google.golang.org/grpc v1.75.1 // indirect
)

replace github.com/apache/skywalking-swtls/bindings/go => ../../../bindings/go
