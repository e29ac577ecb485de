// Package pb is the protoc-generated code of the swtls-go-stubs benchmark client. The
// generated files are committed; to regenerate them, install protoc (Debian:
// apt-get install protobuf-compiler) and the plugins, then run go generate here:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate .   # with $(go env GOPATH)/bin on PATH
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative skywalking.proto echo.proto
