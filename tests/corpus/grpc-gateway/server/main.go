package main

import (
	"log"
	"net"
)

func main() {
	lis, err := net.Listen("tcp", ":50051")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("greeter gRPC server on %s", lis.Addr())
	// grpc.NewServer() and service registration live here once stubs exist.
	select {}
}
