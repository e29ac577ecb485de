// Package testpb holds the protoc-generated code of the grpcconn tests: a subset of
// SkyWalking's protocol (skywalking.proto) and test-only streaming methods
// (teststreams.proto). The generated files are committed; to regenerate them after editing
// a .proto file, install protoc (Debian: apt-get install protobuf-compiler) and the two
// plugins at the versions the files name, then run go generate in this folder:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./internal/testpb   # from bindings/go/grpcconn, with $(go env GOPATH)/bin on PATH
package testpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative skywalking.proto teststreams.proto
