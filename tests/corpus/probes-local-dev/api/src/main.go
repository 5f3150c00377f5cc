package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	addr := os.Getenv("API_ADDR")
	if addr == "" {
		addr = ":7070"
	}
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	http.HandleFunc("/emails", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	log.Printf("api on %s (redis %s)", addr, os.Getenv("REDIS_ADDR"))
	log.Fatal(http.ListenAndServe(addr, nil))
}
