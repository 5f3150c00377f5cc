package main

import (
	"fmt"
	"log"
	"net/http"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/greeter/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"greeting":"hello, %s"}`, r.URL.Query().Get("name"))
	})
	mux.Handle("/swagger/", http.StripPrefix("/swagger/", http.FileServer(http.Dir("/swagger"))))
	go http.ListenAndServe(":9090", http.DefaultServeMux) // metrics
	log.Fatal(http.ListenAndServe(":8080", mux))
}
