module github.com/apache/skywalking-swtls/bindings/go/grpcconn

go 1.24

require (
	github.com/apache/skywalking-swtls/bindings/go v0.0.0
	google.golang.org/grpc v1.75.1
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.41.0 // indirect
	golang.org/x/sys v0.33.0 // indirect
	golang.org/x/text v0.26.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250707201910-8d1bb00bc6a7 // indirect
)

// The core binding travels with this module (bindings/go is its parent folder), in the
// repository and in a copy of bindings/go alone.
replace github.com/apache/skywalking-swtls/bindings/go => ../
